/**
 * Where the master key lives. The keyring only asks a provider to wrap and unwrap data keys,
 * so a provider whose master key never enters the process (AWS KMS, a PKCS#11 HSM) can replace
 * the local one without touching the keyring.
 */
export interface MasterKeyProvider {
  /**
   * A stable, non-secret name of the master key, stored with the keyring: starting with a
   * provider whose fingerprint differs from the stored one is refused.
   */
  fingerprint(): Promise<string>;
  /** Wraps a 32-byte data key; `keyId` is bound into the wrapping so rows cannot be swapped. */
  wrapDataKey(dataKey: Buffer, keyId: string): Promise<Buffer>;
  /** Reverses wrapDataKey; rejects a wrapped key that was altered or bound to another id. */
  unwrapDataKey(wrappedKey: Buffer, keyId: string): Promise<Buffer>;
  /**
   * An independent 32-byte key for `label`, derived from the master key (HKDF), the same on
   * every replica: keys blind indexes, which must match across processes. Optional: without it,
   * blind indexes are unavailable.
   */
  deriveKey?(label: string): Promise<Buffer>;
  /** Releases key material held in memory. Called at application shutdown. */
  destroy?(): void;
}
