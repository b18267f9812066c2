import { KmsError } from './kms.error.js';

/**
 * The master key's provider refused in a way a retry will not cure: access denied, a disabled
 * or deleted key, a mechanism the token does not offer, or an answer about another key than the
 * one asked for. Needs an operator.
 */
export class MasterKeyProviderError extends KmsError {
  readonly code = 'KMS_MASTER_KEY_PROVIDER_ERROR';
  readonly retryable = false;
  constructor(
    /** The provider's name (`aws-kms`, `pkcs11`, …). */
    readonly provider: string,
    /** What was refused and why, as the provider reported it. Never a key, a PIN or a credential. */
    readonly reason: string,
  ) {
    super(`The master key provider ${provider} refused: ${reason}`);
  }
}
