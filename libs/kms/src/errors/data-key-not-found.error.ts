import { KMS_MESSAGES } from '../kms.messages.js';
import { KmsError } from './kms.error.js';
import { quotedInput } from './quoted-input.js';

/** The envelope names a data key that neither memory nor the database holds. */
export class DataKeyNotFoundError extends KmsError {
  readonly code = 'KMS_DATA_KEY_NOT_FOUND';
  constructor(readonly keyId: string) {
    super(
      `${KMS_MESSAGES.dataKeyNotFound}: ${quotedInput(keyId)} is not in this keyring (was it destroyed, or written by another keyring?)`,
    );
  }
}
