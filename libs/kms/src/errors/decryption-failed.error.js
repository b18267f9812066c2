import { KMS_MESSAGES } from '../kms.messages.js';
import { KmsError } from './kms.error.js';
export class DecryptionFailedError extends KmsError {
  code = 'KMS_DECRYPTION_FAILED';
  constructor() {
    super(KMS_MESSAGES.decryptionFailed);
  }
}
//# sourceMappingURL=decryption-failed.error.js.map
