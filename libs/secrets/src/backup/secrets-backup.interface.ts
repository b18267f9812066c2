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
   * Tenants' secrets of the backup left out, with why: their tenant's keys are not in this
   * keyring (the tenant was destroyed: its keys never come back from a backup), or another
   * keyring made them (tenants' keys open only in the keyring that tagged them).
   */
  notRestored: { name: string; reason: TenantKeyUnusable }[];
}
