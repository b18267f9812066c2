import { KmsError } from './kms.error.js';
export class MasterKeyMissingError extends KmsError {
  reason;
  code = 'KMS_MASTER_KEY_MISSING';
  constructor(reason) {
    super(
      `No master key: ${reason}. Set KMS_MASTER_KEY to the base64 of 32 random bytes (the key that wrapped this keyring, if one exists) or pass masterKey to KmsModule.forRoot()`,
    );
    this.reason = reason;
  }
}
//# sourceMappingURL=master-key-missing.error.js.map
