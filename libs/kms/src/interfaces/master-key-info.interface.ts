/** A master key of the keyring as an operator sees it. */
export interface MasterKeyInfo {
  /** The master key's non-secret fingerprint (`<provider>:<key identity>`). */
  readonly fingerprint: string;
  /**
   * `primary`: wraps every data key on its row, and new keys must wrap under it. `additional`:
   * a second wrap of every data key, used when the primary cannot be reached.
   */
  readonly role: 'primary' | 'additional';
  /** Whether this process holds the key (it is configured and answered at start-up). */
  readonly held: boolean;
  /**
   * Keys (data keys and the blind-index root key) that have no wrap under it yet: made while it
   * was unreachable or not configured. Caught up at each lifecycle check while it is held.
   */
  readonly keysWithoutWrap: number;
}
