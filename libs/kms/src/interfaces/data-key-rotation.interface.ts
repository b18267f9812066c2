/** What one data-key rotation did: the key it made active and the key it retired. */
export interface DataKeyRotation {
  /** The new active data key. */
  readonly keyId: string;
  /**
   * The key this rotation retired (it keeps decrypting). Under concurrent rotations each caller
   * gets the key its own rotation replaced. Null only for a keyring that held no active key.
   */
  readonly previousKeyId: string | null;
}
