import { KmsError } from './kms.error.js';
export class AadMismatchError extends KmsError {
  code = 'KMS_AAD_MISMATCH';
  constructor() {
    super(
      'AAD mismatch: the envelope is bound to a different context (aad) than the one given to decryptData',
    );
  }
}
//# sourceMappingURL=aad-mismatch.error.js.map
