import { KmsError } from './kms.error.js';
import { quotedInput } from './quoted-input.js';

/**
 * A stored data key failed to unwrap although the master key fingerprint matched:
 * its row was modified or corrupted. The keyring refuses to start rather than guess.
 */
export class KeyringIntegrityError extends KmsError {
  readonly code = 'KMS_KEYRING_INTEGRITY';
  constructor(
    readonly keyId: string,
    readonly problem: string,
  ) {
    super(`Keyring integrity check failed for data key ${quotedInput(keyId)}: ${problem}`);
  }
}
