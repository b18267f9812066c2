import { KmsError } from './kms.error.js';
export class KeyringIntegrityError extends KmsError {
  keyId;
  problem;
  code = 'KMS_KEYRING_INTEGRITY';
  constructor(keyId, problem) {
    super(`Keyring integrity check failed for data key ${keyId}: ${problem}`);
    this.keyId = keyId;
    this.problem = problem;
  }
}
//# sourceMappingURL=keyring-integrity.error.js.map
