import type { TenantKeyUnusable } from '@nest-kms/kms';
import type { SealedExport } from '@nest-kms/kms/extension';
import type { SecretMetadata } from '../interfaces/secret-operations.interface.js';

/** What backupSecrets() returns. */
export interface SecretsBackupResult {
  createdAt: Date;
  /** The metadata snapshot of live secrets (as listSecrets gives it): no values. */
  secrets: SecretMetadata[];
  /**
   * The encrypted export for restoreSecrets(): wrapped data keys, every secret (soft-deleted
   * ones too) and every version's envelope as stored, sealed under the master key. Plain JSON:
   * store it as it is; it opens only with the same master key, and any change to it is refused.
   */
  artifact: SealedExport;
}

/** What restoreSecrets() returns. */
export interface SecretsRestoreResult {
  /** Secrets the backup added to this database. */
  restored: string[];
  /** Secrets this database already held with exactly the backup's content. */
  unchanged: string[];
  /** Data keys of the backup that this keyring did not hold (added as retired keys). */
  dataKeysAdded: number;
  /**
   * Tenants' secrets of the backup left out, with why: `tenant-key-not-stored`, the tenant was
   * destroyed here since the backup (its keys never come back from one); or
   * `tenant-keys-of-another-keyring`, a backup of another keyring whose tenant's own master key
   * wraps them. (Other tenants' secrets of another keyring are sealed anew under this keyring's
   * keys of the same tenant, and restored.)
   */
  notRestored: { name: string; reason: TenantKeyUnusable }[];
}
