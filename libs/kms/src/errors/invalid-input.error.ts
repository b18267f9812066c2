import { KmsError } from './kms.error.js';

/** A caller passed a value of the wrong type or size (plaintext, aad, options). */
export class InvalidInputError extends KmsError {
  readonly code = 'KMS_INVALID_INPUT';
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`Invalid ${field}: ${problem}`);
  }
}
