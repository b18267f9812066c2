import { KmsError } from './kms.error.js';
import { quotedInput } from './quoted-input.js';

/**
 * decryptDataSync was given an envelope whose data key this process has not loaded (another
 * replica's new key, or none at all): loading it needs the database. decryptData loads it (or
 * says it does not exist); after that, decryptDataSync opens that key's envelopes too.
 */
export class DataKeyNotInMemoryError extends KmsError {
  readonly code = 'KMS_DATA_KEY_NOT_IN_MEMORY';
  constructor(readonly keyId: string) {
    super(
      `Data key ${quotedInput(keyId)} is not loaded in this process: decrypt with decryptData, which loads it from the database`,
    );
  }
}
