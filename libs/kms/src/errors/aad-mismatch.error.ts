import { KmsError } from './kms.error.js';

/** The caller's expected AAD differs from the context the envelope is bound to. */
export class AadMismatchError extends KmsError {
  readonly code = 'KMS_AAD_MISMATCH';
  constructor() {
    super(
      'AAD mismatch: the envelope is bound to a different context (aad) than the one given to decryptData',
    );
  }
}
