import { KmsError } from './kms.error.js';

/**
 * The master key's provider did not answer in time, throttled, failed with a server error or
 * dropped the connection. Transient: the keyring has already retried with backoff; the same call
 * succeeds once the provider is back. Everything whose data keys are in memory keeps working
 * meanwhile.
 */
export class MasterKeyUnavailableError extends KmsError {
  readonly code = 'KMS_MASTER_KEY_UNAVAILABLE';
  readonly retryable = true;
  constructor(
    /** The provider's name (`aws-kms`, `pkcs11`, …). */
    readonly provider: string,
    /** What failed: a timeout, an HTTP status, an error name. Never a key, a PIN or a credential. */
    readonly reason: string,
  ) {
    super(
      `The master key provider ${provider} is unavailable (${reason}); retry once it answers again`,
    );
  }
}
