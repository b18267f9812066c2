/** What the keyring passes to every provider call. */
export interface MasterKeyCallOptions {
  /**
   * Aborted when the call's time is up (KmsModule option `masterKeyCalls.timeoutMs`) or the
   * application shuts down. A provider that talks to a network passes it to its client, so an
   * abandoned call does not hold a socket.
   */
  readonly signal?: AbortSignal;
}

/**
 * Where the master key lives. The keyring only asks a provider to wrap and unwrap data keys,
 * so a provider whose master key never enters the process (AWS KMS, Azure Key Vault, a PKCS#11
 * HSM) can replace the local one without touching the keyring.
 *
 * A provider reports failures with three errors, and the keyring treats each differently:
 * - DecryptionFailedError: the wrapped key does not verify (altered, or bound to another id).
 * - MasterKeyUnavailableError: a transient failure (timeout, throttling, a 5xx, a dropped
 *   connection). The keyring retries it with backoff; callers get it as a retryable error.
 * - MasterKeyProviderError: a refusal a retry will not cure (access denied, a disabled key, a
 *   response about another key). Never retried.
 */
export interface MasterKeyProvider {
  /**
   * Which provider this is, in metrics labels, logs and errors: `local`, `aws-kms`,
   * `azure-key-vault`, `pkcs11`. Never secret.
   */
  readonly name: string;
  /**
   * A stable, non-secret name of the master key (`<name>:<key identity>`), stored with the
   * keyring: starting with a provider whose fingerprint differs from the stored one is refused.
   * A provider may call its service once to resolve it (an alias to a key ARN); it is read once
   * per start.
   */
  fingerprint(options?: MasterKeyCallOptions): Promise<string>;
  /** Wraps a 32-byte data key; `keyId` is authenticated in the wrapping so rows cannot be swapped. */
  wrapDataKey(dataKey: Buffer, keyId: string, options?: MasterKeyCallOptions): Promise<Buffer>;
  /** Reverses wrapDataKey; rejects a wrapped key that was altered or bound to another id. */
  unwrapDataKey(wrappedKey: Buffer, keyId: string, options?: MasterKeyCallOptions): Promise<Buffer>;
  /**
   * An independent 32-byte key for `label`, derived from the master key (HKDF), the same on
   * every replica. Only a master key held in memory can offer it; blind indexes made before the
   * keyring had its own index key were keyed this way.
   */
  deriveKey?(label: string): Promise<Buffer>;
  /** Releases key material and connections. Called at application shutdown. */
  destroy?(): void | Promise<void>;
}
