import { randomBytes } from 'node:crypto';
import { InvalidExportError, KeyringIntegrityError, MasterKeyMismatchError } from '@nest-kms/kms';
import { KmsStorage, SealedExports, type SealedExport } from '@nest-kms/kms/extension';
import {
  AuditWriteFailedError,
  InvalidBackupError,
  SecretDeletedError,
  SecretRestoreConflictError,
  type SecretChange,
  type SecretsBackupResult,
} from '@nest-kms/secrets';
import type { DataSource } from 'typeorm';
import { caught } from './support/caught.js';
import { ENGINES, type TestDatabase } from './support/databases.js';
import { createMigratedTestDatabase } from './support/migrated-databases.js';
import { newMasterKey } from './support/kms-fixture.js';
import { startSecretsApp, type SecretsApp } from './support/secrets-fixture.js';

/** Every value this suite stores: no backup, log line or audit row may contain one. */
const allValues = new Set<string>();

function secretValue(label: string): string {
  const value = `${label}-${randomBytes(12).toString('hex')}`;
  allValues.add(value);
  return value;
}

/** What `seed` stores: every version's value per name, oldest first. */
type Seeded = Record<string, string[]>;

const DELETED = 'legacy-token';

/**
 * Four secrets across two data keys: several versions, tags, a TTL and a description, a
 * non-ASCII value, and one soft-deleted secret.
 */
async function seed({ secrets, kms }: SecretsApp): Promise<Seeded> {
  const seeded: Seeded = {
    'db/password': [secretValue('pw'), secretValue('pw'), secretValue('pw')],
    'api.key': [secretValue('key'), secretValue('key')],
    [DELETED]: [secretValue('token')],
    unicode: [secretValue('pässwörd ✓ 🔑')],
  };
  const password = seeded['db/password'];
  await secrets.setSecret('db/password', password[0], {
    tags: { env: 'prod', team: 'core' },
    description: 'primary database',
    rotationPolicy: 'auto',
    ttlDays: 30,
  });
  await secrets.rotateSecret('db/password', password[1]);
  await kms.rotateDataKey();
  await secrets.rotateSecret('db/password', password[2]);
  await secrets.setSecret('api.key', seeded['api.key'][0], { tags: { env: 'prod' } });
  await secrets.setSecret('api.key', seeded['api.key'][1]);
  await secrets.setSecret(DELETED, seeded[DELETED][0]);
  await secrets.deleteSecret(DELETED);
  await secrets.setSecret('unicode', seeded.unicode[0]);
  return seeded;
}

const tablesOf = (app: SecretsApp): Promise<DataSource> => app.app.get(KmsStorage).dataSource();

/** Every row of every kms_* table, each table's rows sorted: a snapshot to prove what was written. */
async function snapshot(app: SecretsApp): Promise<Record<string, string[]>> {
  const tables = await tablesOf(app);
  const names = (
    (await tables.query(
      tables.options.type === 'postgres'
        ? "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'"
        : "SELECT name FROM sqlite_master WHERE type = 'table'",
    )) as { name: string }[]
  )
    .map((row) => row.name)
    .filter((name) => name.startsWith('kms_'))
    .sort();
  const result: Record<string, string[]> = {};
  for (const name of names) {
    const rows = (await tables.query(`SELECT * FROM ${name}`)) as unknown[];
    result[name] = rows.map((row) => JSON.stringify(row)).sort();
  }
  return result;
}

/**
 * Nothing but one failure audit record (with `code`) between two snapshots: the data tables
 * are untouched, and the refusal is on the audit trail.
 */
function expectOnlyFailureRecorded(
  before: Record<string, string[]>,
  after: Record<string, string[]>,
  code: string,
): void {
  expect(Object.keys(after)).toEqual(
    expect.arrayContaining(['kms_data_keys', 'kms_secrets', 'kms_secret_versions']),
  );
  const { kms_secret_audit: auditBefore, ...dataBefore } = before;
  const { kms_secret_audit: auditAfter, ...dataAfter } = after;
  expect(dataAfter).toEqual(dataBefore);
  const added = auditAfter
    .filter((row) => !auditBefore.includes(row))
    .map((row) => JSON.parse(row));
  expect(added).toEqual([
    expect.objectContaining({ action: 'restore', outcome: 'failure', error_code: code }),
  ]);
}

async function count(app: SecretsApp, table: string): Promise<number> {
  const [row] = (await (await tablesOf(app)).query(`SELECT COUNT(*) AS n FROM ${table}`)) as {
    n: number | string;
  }[];
  return Number(row.n);
}

async function auditRows(app: SecretsApp): Promise<Record<string, unknown>[]> {
  return (await (
    await tablesOf(app)
  ).query('SELECT * FROM kms_secret_audit ORDER BY id')) as Record<string, unknown>[];
}

/** Every value and version of `seeded` reads back from `app` (the deleted secret: refused as deleted). */
async function expectValues(app: SecretsApp, seeded: Seeded): Promise<void> {
  for (const [name, versions] of Object.entries(seeded)) {
    if (name === DELETED) {
      await expect(app.secrets.getSecret(name)).rejects.toBeInstanceOf(SecretDeletedError);
      continue;
    }
    expect(await app.secrets.getSecret(name)).toBe(versions.at(-1));
    for (const [index, value] of versions.entries()) {
      expect(await app.secrets.getSecret(name, { version: index + 1 })).toBe(value);
    }
  }
}

/** A flipped character, chosen to stay in the field's alphabet. */
function flipChar(text: string, at = Math.floor(text.length / 2)): string {
  const swap = text[at] === 'a' ? 'b' : 'a';
  return text.slice(0, at) + swap + text.slice(at + 1);
}

/** One bit flipped in the decoded bytes of a base64 field. */
function flipBit(base64: string): string {
  const bytes = Buffer.from(base64, 'base64');
  bytes[Math.floor(bytes.length / 2)] ^= 0x01;
  return bytes.toString('base64');
}

type Tamper = [string, (artifact: SealedExport) => unknown];

const TAMPERS: Tamper[] = [
  ...(['ciphertext', 'tag', 'iv', 'wrappedKey'] as const).flatMap((field): Tamper[] => [
    [`a flipped character in ${field}`, (a) => ({ ...a, [field]: flipChar(a[field]) })],
    [`a flipped bit in ${field}`, (a) => ({ ...a, [field]: flipBit(a[field]) })],
    [`a truncated ${field}`, (a) => ({ ...a, [field]: a[field].slice(0, -4) })],
    [`${field} of the wrong type`, (a) => ({ ...a, [field]: 42 })],
  ]),
  ['a flipped character in keyId', (a) => ({ ...a, keyId: flipChar(a.keyId, a.keyId.length - 1) })],
  ['a truncated keyId', (a) => ({ ...a, keyId: a.keyId.slice(0, -1) })],
  ['a flipped character in purpose', (a) => ({ ...a, purpose: flipChar(a.purpose, 0) })],
  ['another purpose', (a) => ({ ...a, purpose: 'config-export' })],
  [
    'a flipped character in masterKeyFingerprint',
    (a) => ({ ...a, masterKeyFingerprint: flipChar(a.masterKeyFingerprint, 8) }),
  ],
  ['a truncated masterKeyFingerprint', (a) => ({ ...a, masterKeyFingerprint: 'local:' })],
  ['a wrong format', (a) => ({ ...a, format: 'nest-kms-sealed-exports' })],
  ['v as a string', (a) => ({ ...a, v: '1' })],
  ['no ciphertext', ({ ciphertext: _dropped, ...rest }) => rest],
  ['null', () => null],
  ['an array', (a) => [a]],
  ['its JSON text instead of the object', (a) => JSON.stringify(a)],
  ['an empty object', () => ({})],
];

interface ForgedVersion {
  [field: string]: unknown;
}
interface ForgedSecret {
  [field: string]: unknown;
  versions: ForgedVersion[];
}
/** An opened backup payload, loosely typed so a case can break it. */
interface ForgedPayload {
  [field: string]: unknown;
  keyring: { masterKeyFingerprint: unknown; dataKeys: Record<string, unknown>[] };
  secrets: ForgedSecret[];
}
/** Changes the payload in place, or returns what to seal instead (a string is sealed as is). */
type Defect = (payload: ForgedPayload) => ForgedPayload | string | void;

const secretNamed = (payload: ForgedPayload, name: string): ForgedSecret =>
  payload.secrets.find((secret) => secret.name === name)!;
const password = (payload: ForgedPayload): ForgedSecret => secretNamed(payload, 'db/password');

/** Each defect, and what the refusal names. */
const DEFECTS: [string, Defect, string][] = [
  ['a payload that is not JSON', () => '{"format":"nest-kms-secrets-backup",', 'not JSON'],
  ['another format', (p) => void (p.format = 'nest-kms-config-backup'), '(format, v)'],
  ['a newer format version', (p) => void (p.v = 2), '(format, v)'],
  ['an unknown top-level field', (p) => void (p.comment = 'hello'), 'unknown field(s) "comment"'],
  ['no keyring', ({ keyring: _dropped, ...rest }) => JSON.stringify(rest), 'lacks keyring'],
  ['a createdAt that is not a date', (p) => void (p.createdAt = 'yesterday'), 'createdAt'],
  [
    'secrets that are not a list',
    (p) => JSON.stringify({ ...p, secrets: {} }),
    'secrets is not an array',
  ],
  [
    'an invalid secret name',
    (p) => void (password(p).name = '../etc/passwd'),
    'not a valid secret name',
  ],
  [
    'a secret twice',
    (p) => void p.secrets.push(structuredClone(password(p))),
    '"db/password" appears twice',
  ],
  ['currentVersion as a string', (p) => void (password(p).currentVersion = '3'), 'currentVersion'],
  [
    'a version above the current one',
    (p) => void (password(p).currentVersion = 2),
    'newest version is not its current version',
  ],
  [
    'its current version missing',
    (p) => void password(p).versions.pop(),
    'newest version is not its current version',
  ],
  [
    'a version twice',
    (p) => void password(p).versions.push(structuredClone(password(p).versions[0])),
    'version "1" appears twice',
  ],
  [
    'a malformed envelope',
    (p) => void (password(p).versions[0].envelope = 'kms1.not-an-envelope'),
    'envelope is not a valid envelope',
  ],
  [
    "a key id that is not its envelope's",
    (p) => {
      const version = password(p).versions[0];
      version.keyId = p.keyring.dataKeys.find((key) => key.id !== version.keyId)!.id;
    },
    "keyId is not its envelope's key id",
  ],
  [
    'envelopes whose data keys it lacks',
    (p) => void (p.keyring.dataKeys = []),
    'keyring does not hold',
  ],
  ['tags that are not JSON', (p) => void (password(p).tags = '{'), 'tags are not JSON'],
  [
    'tags that break the tag rules',
    (p) => void (password(p).tags = '{"bad key!":"x"}'),
    'tags keys must be',
  ],
  [
    'an unknown rotation policy',
    (p) => void (password(p).rotationPolicy = 'weekly'),
    'rotationPolicy',
  ],
  ['a negative time', (p) => void (password(p).createdAt = -1), 'createdAt is not an epoch time'],
  ['a ttlDays out of range', (p) => void (password(p).ttlDays = 0), 'ttlDays must be'],
  [
    'a wrapped key that is not base64',
    (p) => void (p.keyring.dataKeys[0].wrappedKey = 'not base64!'),
    'wrappedKey is not canonical base64',
  ],
  [
    'an unknown field in a version',
    (p) => void (password(p).versions[0].value = 'plain'),
    'unknown field(s) "value"',
  ],
];

describe.each(ENGINES)('secrets backup and restore on %s', (engine) => {
  const databases: TestDatabase[] = [];
  const apps: SecretsApp[] = [];
  const newDatabase = async (): Promise<TestDatabase> => {
    const db = await createMigratedTestDatabase(engine);
    databases.push(db);
    return db;
  };
  /** Fail-closed audit: every record is written before the call returns, so snapshots see it. */
  const start = async (db: TestDatabase, masterKey: string): Promise<SecretsApp> => {
    // Restores are compared key id by key id; scheduled re-encryption would (rightly) move the
    // restored versions to the target's active key while the comparison runs.
    const app = await startSecretsApp(db, {
      masterKey,
      // No timed sealing: a seal between two snapshots rewrites kms_audit_chain and the records'
      // chain columns (the tampered-artifact cases share one target for many seconds).
      secrets: { audit: { failClosed: true, sealIntervalMs: 0 } },
      kms: { reencryption: { auto: false } },
    });
    apps.push(app);
    return app;
  };
  const restart = async (app: SecretsApp, db: TestDatabase, masterKey: string) => {
    await app.close();
    apps.splice(apps.indexOf(app), 1);
    return start(db, masterKey);
  };
  /** A source database with the seeded secrets and its backup, and an empty target under the same master key. */
  const scenario = async () => {
    const masterKey = newMasterKey();
    const sourceDb = await newDatabase();
    const source = await start(sourceDb, masterKey);
    const seeded = await seed(source);
    const backup = await source.secrets.backupSecrets({ actor: 'ops' });
    const targetDb = await newDatabase();
    const target = await start(targetDb, masterKey);
    return { masterKey, source, seeded, backup, targetDb, target };
  };

  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    for (const db of databases.splice(0)) await db.drop();
  });

  it('backs up the metadata of live secrets and a sealed artifact', async () => {
    const { source, backup } = await scenario();
    expect(backup.createdAt).toBeInstanceOf(Date);
    expect(backup.secrets).toEqual(await source.secrets.listSecrets());
    expect(backup.secrets.map((secret) => secret.name).sort()).toEqual([
      'api.key',
      'db/password',
      'unicode',
    ]);
    expect(backup.artifact).toMatchObject({
      format: 'nest-kms-sealed-export',
      v: 1,
      purpose: 'secrets-backup',
      masterKeyFingerprint: source.kms.getStatus().masterKeyFingerprint,
    });
    expect(await auditRows(source)).toContainEqual(
      expect.objectContaining({ action: 'backup', actor: 'ops', outcome: 'success' }),
    );
  });

  it('restores into a new empty database: every version, the metadata, deleted secrets as deleted', async () => {
    const { masterKey, source, seeded, backup, targetDb, target } = await scenario();
    const changes: SecretChange[] = [];
    target.secrets.watch().subscribe((change) => changes.push(change));

    const result = await target.secrets.restoreSecrets(backup.artifact, { actor: 'ops' });

    const names = Object.keys(seeded).sort();
    expect([...result.restored].sort()).toEqual(names);
    expect(result.unchanged).toEqual([]);
    expect(result.dataKeysAdded).toBe(2);
    await expectValues(target, seeded);
    expect(await target.secrets.listSecrets()).toEqual(await source.secrets.listSecrets());
    for (const name of names.filter((kept) => kept !== DELETED)) {
      expect(await target.secrets.listSecretVersions(name)).toEqual(
        await source.secrets.listSecretVersions(name),
      );
    }
    const [sourceRows, targetRows] = [await snapshot(source), await snapshot(target)];
    expect(targetRows.kms_secrets).toEqual(sourceRows.kms_secrets);
    expect(targetRows.kms_secret_versions).toEqual(sourceRows.kms_secret_versions);
    expect(changes.sort((a, b) => (a.name < b.name ? -1 : 1))).toEqual(
      names.map((name) => ({
        name,
        reason: 'restored',
        version: name === DELETED ? null : seeded[name].length,
      })),
    );
    expect(target.logger.events('secrets_restored')).toEqual([
      expect.objectContaining({ restoredCount: 4, unchangedCount: 0, dataKeysAdded: 2 }),
    ]);
    expect(await auditRows(target)).toContainEqual(
      expect.objectContaining({ action: 'restore', actor: 'ops', outcome: 'success' }),
    );

    const restarted = await restart(target, targetDb, masterKey);
    await expectValues(restarted, seeded);
    await restarted.secrets.recoverSecret(DELETED);
    expect(await restarted.secrets.getSecret(DELETED)).toBe(seeded[DELETED][0]);
  });

  it('restoring twice is harmless: the second restore changes nothing', async () => {
    const { source, seeded, backup, target } = await scenario();
    await target.secrets.restoreSecrets(backup.artifact);
    const counts = async (app: SecretsApp) => [
      await count(app, 'kms_secrets'),
      await count(app, 'kms_secret_versions'),
      await count(app, 'kms_data_keys'),
    ];
    const before = await counts(target);
    expect(before).toEqual([4, 7, 3]);

    const again = await target.secrets.restoreSecrets(backup.artifact);
    expect(again.restored).toEqual([]);
    expect([...again.unchanged].sort()).toEqual(Object.keys(seeded).sort());
    expect(again.dataKeysAdded).toBe(0);
    expect(await counts(target)).toEqual(before);
    await expectValues(target, seeded);

    // The database the backup came from holds the same rows and keys: nothing to add there either.
    const intoSource = await source.secrets.restoreSecrets(backup.artifact);
    expect(intoSource).toMatchObject({ restored: [], dataKeysAdded: 0 });
    expect(await counts(source)).toEqual([4, 7, 2]);
  });

  it('restores into a database that has other secrets, and keeps them', async () => {
    const { seeded, backup, target } = await scenario();
    const own = secretValue('own');
    await target.secrets.setSecret('target/only', own, { tags: { env: 'staging' } });

    const result = await target.secrets.restoreSecrets(backup.artifact);

    expect(result.restored).toHaveLength(4);
    expect(await target.secrets.getSecret('target/only')).toBe(own);
    await expectValues(target, seeded);
    expect((await target.secrets.listSecrets()).map((secret) => secret.name).sort()).toEqual([
      'api.key',
      'db/password',
      'target/only',
      'unicode',
    ]);
    // New writes land after the restored versions, under this keyring's active key.
    await target.secrets.rotateSecret('db/password', secretValue('pw'));
    expect((await target.secrets.listSecretVersions('db/password'))[0]).toMatchObject({
      version: 4,
      keyId: target.kms.getStatus().activeKeyId,
    });
  });

  it('refuses a conflict (same name, other content) naming it, and writes nothing', async () => {
    const { seeded, backup, target } = await scenario();
    await target.secrets.restoreSecrets(backup.artifact);
    const newer = secretValue('key');
    await target.secrets.setSecret('api.key', newer);
    await target.secrets.deleteSecret('db/password');
    await target.secrets.destroySecret(DELETED);
    const before = await snapshot(target);

    const error = await caught(() => target.secrets.restoreSecrets(backup.artifact));

    expect(error).toBeInstanceOf(SecretRestoreConflictError);
    expect(error).toMatchObject({
      code: 'SECRET_RESTORE_CONFLICT',
      names: ['api.key', 'db/password'],
    });
    expect(error.message).toContain('api.key');
    expect(error.message).toContain('db/password');
    expect(error.message).not.toContain(newer);
    // The destroyed secret would restore, but the restore is refused whole.
    expectOnlyFailureRecorded(before, await snapshot(target), 'SECRET_RESTORE_CONFLICT');
    expect(await target.secrets.getSecret('api.key')).toBe(newer);
    await expect(target.secrets.getSecret(DELETED)).rejects.toThrow('Secret not found');
    await expectValues(target, { unicode: seeded.unicode });
  });

  it('refuses a backup made under another master key, and writes nothing', async () => {
    const { backup } = await scenario();
    const other = await start(await newDatabase(), newMasterKey());
    const before = await snapshot(other);

    const error = await caught(() => other.secrets.restoreSecrets(backup.artifact));

    expect(error).toBeInstanceOf(InvalidExportError);
    expect(error).toMatchObject({ code: 'KMS_INVALID_EXPORT' });
    expectOnlyFailureRecorded(before, await snapshot(other), 'KMS_INVALID_EXPORT');
  });

  it('puts no value in the backup, the logs or the audit trail', async () => {
    const { source, seeded, backup, target } = await scenario();
    await target.secrets.restoreSecrets(backup.artifact);
    await target.secrets.restoreSecrets(backup.artifact);
    await target.secrets.setSecret('api.key', secretValue('key'));
    await caught(() => target.secrets.restoreSecrets(backup.artifact));
    await caught(() =>
      target.secrets.restoreSecrets({ ...backup.artifact, tag: flipBit(backup.artifact.tag) }),
    );
    await expectValues(source, seeded);

    const scanned = [
      JSON.stringify(backup),
      source.logger.text(),
      target.logger.text(),
      JSON.stringify(await auditRows(source)),
      JSON.stringify(await auditRows(target)),
    ].join('\n');
    expect(scanned).toContain('secrets_restored');
    for (const value of allValues) {
      expect(scanned).not.toContain(value);
      expect(scanned).not.toContain(Buffer.from(value).toString('base64'));
    }
  });

  it('fails a backup closed when its audit record cannot be written', async () => {
    const { source } = await scenario();
    await (await tablesOf(source)).query('DROP TABLE kms_secret_audit');
    const error = await caught(() => source.secrets.backupSecrets());
    expect(error).toBeInstanceOf(AuditWriteFailedError);
  });

  it('restores no secret when its audit record cannot be written', async () => {
    const { backup, target } = await scenario();
    await (await tablesOf(target)).query('DROP TABLE kms_secret_audit');
    await caught(() => target.secrets.restoreSecrets(backup.artifact));
    expect(await count(target, 'kms_secrets')).toBe(0);
    expect(await count(target, 'kms_secret_versions')).toBe(0);
  });

  it('writes buffered backup and restore audit records by shutdown when not fail-closed', async () => {
    const masterKey = newMasterKey();
    const db = await newDatabase();
    const app = await startSecretsApp(db, { masterKey });
    apps.push(app);
    await app.secrets.setSecret('a', secretValue('a'));
    const { artifact } = await app.secrets.backupSecrets({ actor: 'nightly' });
    await app.secrets.restoreSecrets(artifact, { actor: 'nightly' });
    const reopened = await restart(app, db, masterKey);
    const actions = (await auditRows(reopened)).map((row) => [row.action, row.outcome, row.actor]);
    expect(actions).toEqual(
      expect.arrayContaining([
        ['backup', 'success', 'nightly'],
        ['restore', 'success', 'nightly'],
      ]),
    );
  });

  describe('a tampered or defective artifact', () => {
    let backup: SecretsBackupResult;
    let target: SecretsApp;
    const heldApps: SecretsApp[] = [];
    const heldDatabases: TestDatabase[] = [];

    beforeAll(async () => {
      ({ backup, target } = await scenario());
      // Shared by every case below: out of reach of the outer afterEach.
      heldApps.push(...apps.splice(0));
      heldDatabases.push(...databases.splice(0));
    });
    afterAll(async () => {
      for (const app of heldApps) await app.close();
      for (const db of heldDatabases) await db.drop();
    });

    /** Refused with `type` and `code`, and nothing but the failure record is written. */
    const expectRefused = async (
      artifact: unknown,
      type: new (...args: never[]) => Error,
      code: string,
    ): Promise<Error> => {
      const before = await snapshot(target);
      const error = await caught(() => target.secrets.restoreSecrets(artifact));
      expect(error).toBeInstanceOf(type);
      expect(error).toMatchObject({ code });
      expectOnlyFailureRecorded(before, await snapshot(target), code);
      return error;
    };

    /** The backup's payload, changed by `defect`, sealed again under the same master key. */
    const reseal = async (defect: Defect): Promise<SealedExport> => {
      const opened = await target.app.get(SealedExports).open(backup.artifact, 'secrets-backup');
      const payload = JSON.parse(opened.toString('utf8')) as ForgedPayload;
      const changed = defect(payload) ?? payload;
      const text = typeof changed === 'string' ? changed : JSON.stringify(changed);
      return target.app.get(SealedExports).seal(Buffer.from(text), 'secrets-backup');
    };

    it.each(TAMPERS)('with %s is refused whole, and nothing is written', async (_, tamper) => {
      const error = await expectRefused(
        tamper(backup.artifact),
        InvalidExportError,
        'KMS_INVALID_EXPORT',
      );
      expect(error.message).toContain('nothing was written');
    });

    it.each(DEFECTS)(
      'authentic, with %s, is refused as an invalid backup, and nothing is written',
      async (_, defect, problem) => {
        const error = await expectRefused(
          await reseal(defect),
          InvalidBackupError,
          'SECRET_INVALID_BACKUP',
        );
        expect((error as InvalidBackupError).problem).toContain(problem);
        expect(error.message).toContain('nothing was written');
      },
    );

    it('authentic, with a data key that does not unwrap here, is refused, and nothing is written', async () => {
      const artifact = await reseal((p) => {
        const key = p.keyring.dataKeys[0];
        key.wrappedKey = flipBit(key.wrappedKey as string);
      });
      await expectRefused(artifact, KeyringIntegrityError, 'KMS_KEYRING_INTEGRITY');
    });

    it('authentic, with the keyring of another master key, is refused, and nothing is written', async () => {
      const artifact = await reseal((p) => {
        p.keyring.masterKeyFingerprint = 'local:00000000000000000000000000000000';
        for (const key of p.keyring.dataKeys)
          key.masterKeyFingerprint = p.keyring.masterKeyFingerprint;
      });
      await expectRefused(artifact, MasterKeyMismatchError, 'KMS_MASTER_KEY_MISMATCH');
    });

    it('untampered, restores', async () => {
      const result = await target.secrets.restoreSecrets(backup.artifact);
      expect([...result.restored, ...result.unchanged]).toHaveLength(4);
    });
  });
});
