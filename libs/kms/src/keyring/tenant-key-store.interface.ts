import type { StoredDataKey } from './keyring-store.interface.js';

/** The storage port of tenants' data keys (rows of the keyring's data keys carrying a tenant tag). */
export interface TenantKeyStore {
  /** Every stored key of the tenant with tag `tag`, oldest first. */
  listTenantKeys(tag: string): Promise<StoredDataKey[]>;
  /** A tenant's stored key by id, or null. */
  findTenantKey(id: string): Promise<StoredDataKey | null>;
  /** Every stored key of every tenant, with its tenant's tag (an export). */
  listAllTenantKeys(): Promise<{ readonly tag: string; readonly key: StoredDataKey }[]>;
  /**
   * Stores `next` as the tenant's active key, retiring the active one, only while the tenant's
   * active key is still `expectedActiveId` (null: it has none yet), serialised against every
   * other keyring change: false, nothing written, when another process got there first.
   * MasterKeyMismatchError when the keyring is no longer under `next`'s master key, unless
   * `underOwnMasterKey` (the tenant's own master key wraps it).
   */
  storeTenantKey(
    tag: string,
    next: StoredDataKey,
    expectedActiveId: string | null,
    underOwnMasterKey: boolean,
  ): Promise<boolean>;
  /**
   * Moves one tenant key under another master key: its wrap replaced by `to`, and its wraps
   * under the keyring's additional master keys deleted, in one transaction; only while the row
   * is still as read (same wrap, same master key), else false and nothing written. Moved under
   * the keyring's (not `underOwnMasterKey`), refused with MasterKeyMismatchError unless `to` is
   * the keyring's current master key.
   */
  rewrapTenantKey(
    key: StoredDataKey,
    to: { readonly wrappedKey: Buffer; readonly masterKeyFingerprint: string },
    underOwnMasterKey: boolean,
  ): Promise<boolean>;
  /**
   * Deletes every key of the tenant and their additional wraps in one transaction, telling the
   * other replicas; returns the ids deleted.
   */
  destroyTenantKeys(tag: string): Promise<string[]>;
}
