import { KMS_MESSAGES } from '../kms.messages.js';
import { KmsError } from './kms.error.js';
export class DataKeyNotFoundError extends KmsError {
  keyId;
  code = 'KMS_DATA_KEY_NOT_FOUND';
  constructor(keyId) {
    super(
      `${KMS_MESSAGES.dataKeyNotFound}: ${keyId} is not in this keyring (was it destroyed, or written by another keyring?)`,
    );
    this.keyId = keyId;
  }
}
//# sourceMappingURL=data-key-not-found.error.js.map
