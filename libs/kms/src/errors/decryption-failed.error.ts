import { KMS_MESSAGES } from '../kms.messages.js';
import { KmsError } from './kms.error.js';

/** The GCM tag did not verify: the envelope was changed, or it belongs to another key. */
export class DecryptionFailedError extends KmsError {
  readonly code = 'KMS_DECRYPTION_FAILED';
  constructor() {
    super(KMS_MESSAGES.decryptionFailed);
  }
}
