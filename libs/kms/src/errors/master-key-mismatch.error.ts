import { KmsError } from './kms.error.js';
import { quotedInput } from './quoted-input.js';

/**
 * The master key given to this process is not the one that wrapped the data keys (the stored
 * keyring at start-up, or an export being imported). Raised before anything is written.
 */
export class MasterKeyMismatchError extends KmsError {
  readonly code = 'KMS_MASTER_KEY_MISMATCH';
  constructor(
    readonly expectedFingerprint: string,
    readonly actualFingerprint: string,
  ) {
    super(
      `Master key mismatch: the data keys are wrapped by master key ${quotedInput(expectedFingerprint)}, this process has ${actualFingerprint}. Configure that key as KMS_MASTER_KEY (during a master-key rotation: the new key as KMS_MASTER_KEY, the old one as KMS_MASTER_KEY_PREVIOUS); nothing was written`,
    );
  }
}
