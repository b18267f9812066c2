import { KmsError } from './kms.error.js';

/** No master key was configured where one is required (always in production). */
export class MasterKeyMissingError extends KmsError {
  readonly code = 'KMS_MASTER_KEY_MISSING';
  constructor(readonly reason: string) {
    super(
      `No master key: ${reason}. Set KMS_MASTER_KEY to the base64 of 32 random bytes (the key that wrapped this keyring, if one exists) or pass masterKey to KmsModule.forRoot()`,
    );
  }
}
