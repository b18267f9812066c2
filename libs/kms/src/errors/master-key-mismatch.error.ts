import { KmsError } from './kms.error.js';

/**
 * The master key given to this process is not the one that wrapped the stored data keys.
 * Raised at start-up, before anything is written.
 */
export class MasterKeyMismatchError extends KmsError {
  readonly code = 'KMS_MASTER_KEY_MISMATCH';
  constructor(
    readonly expectedFingerprint: string,
    readonly actualFingerprint: string,
  ) {
    super(
      `Master key mismatch: the keyring in this database was created with master key ${expectedFingerprint}, this process has ${actualFingerprint}. Start with the original KMS_MASTER_KEY; nothing was written`,
    );
  }
}
