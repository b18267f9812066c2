import { KmsError } from './kms.error.js';

/** KmsModule options that cannot work (e.g. no storage in production, a DataSource without the KMS entities). */
export class KmsConfigurationError extends KmsError {
  readonly code: string = 'KMS_CONFIGURATION';
  constructor(problem: string) {
    super(`KMS configuration: ${problem}`);
  }
}
