import type { TenantKeyStore } from './tenant-key-store.interface.js';

/** A data key as stored: wrapped, never plain. */
export interface StoredDataKey {
  readonly id: string;
  readonly wrappedKey: Buffer;
  readonly status: 'active' | 'retired';
  readonly masterKeyFingerprint: string;
  readonly createdAt: number;
  readonly retiredAt: number | null;
}

/** A data key (or the blind-index root key) wrapped under one of the keyring's additional master keys. */
export interface AdditionalWrap {
  readonly keyId: string;
  readonly masterKeyFingerprint: string;
  readonly wrappedKey: Buffer;
}

/** What a conditional rotation found: it rotated, or another process already had. */
export type RotationOutcome =
  | { readonly rotated: true; readonly previousKeyId: string | null }
  | { readonly rotated: false; readonly activeKeyId: string };

/** The keyring's storage port: what it needs from a database, nothing more. */
export interface KeyringStore {
  /** Where tenants' data keys are kept; a store without it serves no tenants. */
  readonly tenantKeys?: TenantKeyStore;
  /** The fingerprint of the master key this keyring was created with, or null before the first start. */
  readFingerprint(): Promise<string | null>;
  /**
   * First start: stores the fingerprint and the first active key in one transaction.
   * Returns false (and writes nothing) when another process created the keyring first.
   */
  createKeyring(fingerprint: string, firstKey: StoredDataKey): Promise<boolean>;
  listKeys(): Promise<StoredDataKey[]>;
  findKey(id: string): Promise<StoredDataKey | null>;
  /**
   * Retires the active key and stores `next` as the active one, atomically and serialised
   * against rotations by other processes. With `expectedActiveId`, rotates only if that key is
   * still the active one (so replicas racing to rotate one key make one new key). Refuses with
   * MasterKeyMismatchError when the keyring's master key is no longer `next`'s.
   */
  rotate(next: StoredDataKey, expectedActiveId?: string): Promise<RotationOutcome>;
  /** Adds keys (from an export) as retired, in one transaction. */
  insertRetired(keys: StoredDataKey[], retiredAt: number): Promise<void>;
  /** The blind-index root key, wrapped under the keyring's master key; null before it is made. */
  readIndexRootKey(): Promise<Buffer | null>;
  /**
   * Stores the wrapped blind-index root key unless the keyring has one already (another process
   * made it first: false, nothing written) or is no longer under `fingerprint` (refused with
   * MasterKeyMismatchError).
   */
  storeIndexRootKey(fingerprint: string, wrapped: Buffer): Promise<boolean>;
  /**
   * Master-key rotation: in one transaction, re-wraps every data key and the blind-index root
   * key (as a row with id INDEX_ROOT_KEY_ID) with `rewrap` and moves the keyring's fingerprint
   * from `from` to `to`. Returns the number of data keys re-wrapped, or null when the keyring is
   * already under `to` (another process finished it).
   */
  rewrapAll(
    from: string,
    to: string,
    rewrap: (key: StoredDataKey) => Promise<Buffer>,
  ): Promise<number | null>;
  /** The fingerprints of the keyring's additional master keys (those with wraps), sorted. */
  listAdditionalMasterKeys(): Promise<string[]>;
  /** The additional wraps of one key (a data key id or INDEX_ROOT_KEY_ID). */
  findWraps(keyId: string): Promise<AdditionalWrap[]>;
  /**
   * Stores additional wraps, in one transaction; a wrap already stored for the same key and
   * master key is kept as it is. Adding a master key is storing its wrap of every key at once.
   * Wraps of a data key deleted meanwhile are dropped.
   */
  insertWraps(wraps: readonly AdditionalWrap[]): Promise<void>;
  /** Ids of the keys (data keys, and INDEX_ROOT_KEY_ID) with no wrap under `fingerprint`. */
  keysWithoutWrap(fingerprint: string): Promise<string[]>;
  /** Deletes every wrap under `fingerprint`; returns how many there were. */
  deleteWraps(fingerprint: string): Promise<number>;
  /**
   * Failover to an additional master key, in one transaction: its wraps become the primary
   * wraps and the primary's become additional ones; the keyring's fingerprint moves from `from`
   * to `to`. Refused with KeyringIntegrityError, nothing written, when a key has no wrap under
   * `to`. Returns the number of data keys, or null when the keyring is already under `to`.
   */
  promote(from: string, to: string): Promise<number | null>;
  /** Adds `count` encryptions to a key's usage; returns the key's new total. */
  addEncryptions(id: string, count: number): Promise<number>;
  /** Deletes a retired key (never the active one). Returns false if there was no such retired key. */
  deleteRetired(id: string): Promise<boolean>;
}
