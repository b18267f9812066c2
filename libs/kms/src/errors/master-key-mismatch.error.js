import { KmsError } from './kms.error.js';
export class MasterKeyMismatchError extends KmsError {
  expectedFingerprint;
  actualFingerprint;
  code = 'KMS_MASTER_KEY_MISMATCH';
  constructor(expectedFingerprint, actualFingerprint) {
    super(
      `Master key mismatch: the keyring in this database was created with master key ${expectedFingerprint}, this process has ${actualFingerprint}. Start with the original KMS_MASTER_KEY; nothing was written`,
    );
    this.expectedFingerprint = expectedFingerprint;
    this.actualFingerprint = actualFingerprint;
  }
}
//# sourceMappingURL=master-key-mismatch.error.js.map
