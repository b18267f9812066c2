import { KMS_MESSAGES } from '../kms.messages.js';
import { KmsError } from './kms.error.js';

/** The configured master key is not canonical base64 of exactly 32 bytes. */
export class InvalidMasterKeyError extends KmsError {
  readonly code = 'KMS_INVALID_MASTER_KEY';
  constructor(readonly problem: string) {
    super(
      `${KMS_MESSAGES.masterKeyLength} (${problem}); generate one with: node -e "console.log(require('crypto').randomBytes(32).toString('base64'))"`,
    );
  }
}
