import {
  KmsError,
  type ExportedDataKey,
  type ExportedKeyring,
  type ExportedTenantKey,
} from '@nest-kms/kms';
import { storeEnvelopeKeyId } from '@nest-kms/kms/extension';
import { InvalidSecretInputError } from '../errors/invalid-secret-input.error.js';
import { checkSetOptions } from '../secrets.validation.js';
import { checkStoredName } from '../secret-scope.js';
import {
  epoch,
  fail,
  isIsoDate,
  list,
  nullableEpoch,
  positive,
  record,
  text,
  unique,
} from './backup-fields.js';
import {
  BACKUP_FORMAT,
  type BackupPayload,
  type BackupSecret,
  type BackupVersion,
} from './backup-payload.js';

const PAYLOAD_FIELDS = ['format', 'v', 'createdAt', 'keyring', 'secrets'] as const;
const KEYRING_FIELDS = ['masterKeyFingerprint', 'dataKeys'] as const;
/** A keyring that has tenants' keys carries them too (see ExportedKeyring). */
const KEYRING_WITH_TENANTS_FIELDS = [...KEYRING_FIELDS, 'tenantKeys', 'tenantTagCheck'] as const;
const KEY_FIELDS = [
  'id',
  'wrappedKey',
  'status',
  'masterKeyFingerprint',
  'createdAt',
  'retiredAt',
] as const;
const SECRET_FIELDS = [
  'name',
  'currentVersion',
  'rotationPolicy',
  'ttlDays',
  'tags',
  'description',
  'createdAt',
  'updatedAt',
  'expiresAt',
  'deletedAt',
  'recoverableUntil',
  'versions',
] as const;
const VERSION_FIELDS = ['version', 'envelope', 'keyId', 'createdAt', 'expiresAt'] as const;
/** The width of the key id columns (kms_data_keys.id, kms_secret_versions.key_id). */
const MAX_KEY_ID_LENGTH = 64;

/**
 * Validates an opened backup field by field. The seal already proved it authentic; this
 * refuses what this version cannot restore faithfully (another format, a malformed row, an
 * envelope whose data key the backup lacks) before anything is written.
 */
export function parseBackupPayload(json: Buffer): BackupPayload {
  let value: unknown;
  try {
    value = JSON.parse(json.toString('utf8'));
  } catch {
    fail('the payload is not JSON');
  }
  const fields = record(value, 'the payload', PAYLOAD_FIELDS);
  if (fields.format !== BACKUP_FORMAT || fields.v !== 1) {
    fail(`not a ${BACKUP_FORMAT} v1 payload (format, v)`);
  }
  const createdAt = fields.createdAt;
  if (typeof createdAt !== 'string' || !isIsoDate(createdAt)) fail('createdAt is not an ISO date');
  const keyring = parseKeyring(fields.keyring);
  const keyIds = new Set([...keyring.dataKeys, ...(keyring.tenantKeys ?? [])].map((key) => key.id));
  const secrets = list(fields.secrets, 'secrets').map((secret, index) =>
    parseSecret(secret, `secrets[${index}]`, keyIds),
  );
  unique(
    secrets.map((secret) => secret.name),
    'secret name',
  );
  return { format: BACKUP_FORMAT, v: 1, createdAt, keyring, secrets };
}

function parseKeyring(value: unknown): ExportedKeyring {
  const withTenants =
    value !== null && typeof value === 'object' && Object.hasOwn(value, 'tenantKeys');
  const fields = record(
    value,
    'keyring',
    withTenants ? KEYRING_WITH_TENANTS_FIELDS : KEYRING_FIELDS,
  ) as Record<(typeof KEYRING_WITH_TENANTS_FIELDS)[number], unknown>;
  const fingerprint = text(fields.masterKeyFingerprint, 'keyring.masterKeyFingerprint');
  const dataKeys = list(fields.dataKeys, 'keyring.dataKeys').map((entry, index) => {
    const at = `keyring.dataKeys[${index}]`;
    const key = parseDataKey(record(entry, at, KEY_FIELDS), at);
    if (key.masterKeyFingerprint !== fingerprint) {
      fail(`${at} was wrapped under another master key than the keyring's`);
    }
    return key;
  });
  if (!withTenants) {
    unique(
      dataKeys.map((key) => key.id),
      'data key id',
    );
    return { masterKeyFingerprint: fingerprint, dataKeys };
  }
  // A tenant's keys may be wrapped under the tenant's own master key.
  const tenantKeys = list(fields.tenantKeys, 'keyring.tenantKeys').map((entry, index) => {
    const at = `keyring.tenantKeys[${index}]`;
    const fieldsOfKey = record(entry, at, [...KEY_FIELDS, 'tenant']);
    const tenant = text(fieldsOfKey.tenant, `${at}.tenant`);
    const key = parseDataKey(fieldsOfKey, at);
    if (!key.id.startsWith(`tk-${tenant}-`)) fail(`${at}.id is not a key of its tenant`);
    return { ...key, tenant } satisfies ExportedTenantKey;
  });
  unique(
    [...dataKeys, ...tenantKeys].map((key) => key.id),
    'data key id',
  );
  const tenantTagCheck = text(fields.tenantTagCheck, 'keyring.tenantTagCheck');
  return { masterKeyFingerprint: fingerprint, dataKeys, tenantKeys, tenantTagCheck };
}

function parseDataKey(
  key: Record<(typeof KEY_FIELDS)[number], unknown>,
  at: string,
): ExportedDataKey {
  const id = keyId(key.id, `${at}.id`);
  const wrappedKey = text(key.wrappedKey, `${at}.wrappedKey`);
  if (Buffer.from(wrappedKey, 'base64').toString('base64') !== wrappedKey) {
    fail(`${at}.wrappedKey is not canonical base64`);
  }
  if (key.status !== 'active' && key.status !== 'retired') fail(`${at}.status is unknown`);
  return {
    id,
    wrappedKey,
    status: key.status,
    masterKeyFingerprint: text(key.masterKeyFingerprint, `${at}.masterKeyFingerprint`),
    createdAt: epoch(key.createdAt, `${at}.createdAt`),
    retiredAt: nullableEpoch(key.retiredAt, `${at}.retiredAt`),
  };
}

function parseSecret(value: unknown, at: string, keyIds: ReadonlySet<string>): BackupSecret {
  const fields = record(value, at, SECRET_FIELDS);
  const name = fields.name;
  try {
    checkStoredName(name);
  } catch {
    fail(`${at}.name is not a valid secret name`);
  }
  const where = `secret ${name}`;
  const currentVersion = positive(fields.currentVersion, `${where}: currentVersion`);
  const tags = text(fields.tags, `${where}: tags`);
  let parsedTags: unknown;
  try {
    parsedTags = JSON.parse(tags);
  } catch {
    fail(`${where}: tags are not JSON`);
  }
  if (fields.rotationPolicy !== 'manual' && fields.rotationPolicy !== 'auto') {
    fail(`${where}: rotationPolicy is unknown`);
  }
  try {
    // The rules setSecret applies: a restored secret is one setSecret could have written.
    checkSetOptions({
      rotationPolicy: fields.rotationPolicy,
      ttlDays: fields.ttlDays as number | null,
      tags: parsedTags as Record<string, string>,
      description: fields.description as string | null,
    });
  } catch (error) {
    if (error instanceof InvalidSecretInputError) fail(`${where}: ${error.field} ${error.rule}`);
    throw error;
  }
  const versions = list(fields.versions, `${where}: versions`)
    .map((version, index) => parseVersion(version, `${where}: versions[${index}]`, keyIds))
    .sort((a, b) => a.version - b.version);
  unique(
    versions.map((version) => String(version.version)),
    `${where}: version`,
  );
  // A version above the current one would collide with the next setSecret's.
  if (versions.at(-1)?.version !== currentVersion) {
    fail(`${where}: its newest version is not its current version`);
  }
  return {
    name: name as string,
    currentVersion,
    rotationPolicy: fields.rotationPolicy,
    ttlDays: fields.ttlDays === null ? null : (fields.ttlDays as number),
    tags,
    description: fields.description === null ? null : (fields.description as string),
    createdAt: epoch(fields.createdAt, `${where}: createdAt`),
    updatedAt: epoch(fields.updatedAt, `${where}: updatedAt`),
    expiresAt: nullableEpoch(fields.expiresAt, `${where}: expiresAt`),
    deletedAt: nullableEpoch(fields.deletedAt, `${where}: deletedAt`),
    recoverableUntil: nullableEpoch(fields.recoverableUntil, `${where}: recoverableUntil`),
    versions,
  };
}

function parseVersion(value: unknown, at: string, keyIds: ReadonlySet<string>): BackupVersion {
  const fields = record(value, at, VERSION_FIELDS);
  const envelope = text(fields.envelope, `${at}.envelope`);
  let envelopeKeyId: string;
  try {
    envelopeKeyId = storeEnvelopeKeyId(envelope, 'secret');
  } catch (error) {
    if (error instanceof KmsError) fail(`${at}.envelope is not a valid envelope`);
    throw error;
  }
  const id = keyId(fields.keyId, `${at}.keyId`);
  if (id !== envelopeKeyId) fail(`${at}.keyId is not its envelope's key id`);
  // Self-contained: every envelope's data key travels with it.
  if (!keyIds.has(id)) fail(`${at} uses a data key that the backup's keyring does not hold`);
  return {
    version: positive(fields.version, `${at}.version`),
    envelope,
    keyId: id,
    createdAt: epoch(fields.createdAt, `${at}.createdAt`),
    expiresAt: nullableEpoch(fields.expiresAt, `${at}.expiresAt`),
  };
}

function keyId(value: unknown, at: string): string {
  const id = text(value, at);
  if (id.length > MAX_KEY_ID_LENGTH) fail(`${at} is longer than ${MAX_KEY_ID_LENGTH} characters`);
  return id;
}
