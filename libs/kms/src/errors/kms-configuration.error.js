import { KmsError } from './kms.error.js';
export class KmsConfigurationError extends KmsError {
  code = 'KMS_CONFIGURATION';
  constructor(problem) {
    super(`KMS configuration: ${problem}`);
  }
}
//# sourceMappingURL=kms-configuration.error.js.map
