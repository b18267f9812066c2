/** A data key as stored: wrapped, never plain. */
export interface StoredDataKey {
  readonly id: string;
  readonly wrappedKey: Buffer;
  readonly status: 'active' | 'retired';
  readonly masterKeyFingerprint: string;
  readonly createdAt: number;
  readonly retiredAt: number | null;
}

/** The keyring's storage port: what it needs from a database, nothing more. */
export interface KeyringStore {
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
   * against rotations by other processes. Returns the id of the key it retired.
   */
  rotate(next: StoredDataKey): Promise<string | null>;
  /** Adds keys (from an export) as retired, in one transaction. */
  insertRetired(keys: StoredDataKey[], retiredAt: number): Promise<void>;
}
