import { KMS_MESSAGES } from '../kms.messages.js';
import { KmsError } from './kms.error.js';
export class KmsNotInitializedError extends KmsError {
  code = 'KMS_NOT_INITIALIZED';
  constructor() {
    super(
      `${KMS_MESSAGES.notInitialized}: await KmsService.initialize() (KmsModule does it during application start-up) before using it`,
    );
  }
}
//# sourceMappingURL=kms-not-initialized.error.js.map
