import { KmsError } from './kms.error.js';

/**
 * The AES-GCM primitive was asked for parameters outside its one profile
 * (256-bit key, 96-bit IV, 128-bit tag). Refused before any cipher runs.
 */
export class UnsupportedCryptoParametersError extends KmsError {
  readonly code = 'KMS_UNSUPPORTED_CRYPTO_PARAMETERS';
  constructor(readonly problem: string) {
    super(`Unsupported AES-256-GCM parameters: ${problem}`);
  }
}
