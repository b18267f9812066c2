import type { ExportedKeyring } from '@nest-kms/kms';
import type { SecretVersionEntity } from '../entities/secret-version.entity.js';
import type { RotationPolicy, SecretEntity } from '../entities/secret.entity.js';

/** The sealed export's purpose, bound into its encryption: no other export opens as a backup. */
export const BACKUP_PURPOSE = 'secrets-backup';
export const BACKUP_FORMAT = 'nest-kms-secrets-backup';

/** A version row as stored: its envelope is copied, never decrypted. */
export interface BackupVersion {
  version: number;
  envelope: string;
  keyId: string;
  createdAt: number;
  expiresAt: number | null;
}

/** A secret row as stored, without the current envelope: its current version carries it. */
export interface BackupSecret {
  name: string;
  currentVersion: number;
  rotationPolicy: RotationPolicy;
  ttlDays: number | null;
  /** The stored JSON text of the tags. */
  tags: string;
  description: string | null;
  createdAt: number;
  updatedAt: number;
  expiresAt: number | null;
  deletedAt: number | null;
  recoverableUntil: number | null;
  /** Oldest first. */
  versions: BackupVersion[];
}

/** The JSON a backup artifact seals. Times inside rows are epoch milliseconds, as stored. */
export interface BackupPayload {
  format: typeof BACKUP_FORMAT;
  v: 1;
  createdAt: string;
  keyring: ExportedKeyring;
  secrets: BackupSecret[];
}

/** A secret's rows in backup form; fields in one fixed order, so equal rows serialise equally. */
export function toBackupSecret(row: SecretEntity, versions: SecretVersionEntity[]): BackupSecret {
  return {
    name: row.name,
    currentVersion: row.currentVersion,
    rotationPolicy: row.rotationPolicy,
    ttlDays: row.ttlDays,
    tags: row.tags,
    description: row.description,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    expiresAt: row.expiresAt,
    deletedAt: row.deletedAt,
    recoverableUntil: row.recoverableUntil,
    versions: [...versions]
      .sort((a, b) => a.version - b.version)
      .map((version) => ({
        version: version.version,
        envelope: version.envelope,
        keyId: version.keyId,
        createdAt: version.createdAt,
        expiresAt: version.expiresAt,
      })),
  };
}

/** The kms_secrets row of a backed-up secret (parsed, so its current version exists). */
export function toSecretRow(secret: BackupSecret): SecretEntity {
  const { versions, ...fields } = secret;
  const current = versions.find((version) => version.version === secret.currentVersion)!;
  // Lifecycle claims are this database's, not the secret's: a restored secret starts without them.
  return {
    ...fields,
    currentEnvelope: current.envelope,
    currentKeyId: current.keyId,
    expiryReportedAt: null,
    rotationClaimedUntil: null,
  };
}

export function toVersionRows(secret: BackupSecret): SecretVersionEntity[] {
  return secret.versions.map((version) => ({ secretName: secret.name, ...version }));
}
