import { KMS_MESSAGES } from '../kms.messages.js';
import { KmsError } from './kms.error.js';
export class InvalidMasterKeyError extends KmsError {
  problem;
  code = 'KMS_INVALID_MASTER_KEY';
  constructor(problem) {
    super(
      `${KMS_MESSAGES.masterKeyLength} (${problem}); generate one with: node -e "console.log(require('crypto').randomBytes(32).toString('base64'))"`,
    );
    this.problem = problem;
  }
}
//# sourceMappingURL=invalid-master-key.error.js.map
