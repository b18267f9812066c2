import { KmsError } from './kms.error.js';
import { quotedInput } from './quoted-input.js';

/**
 * destroyDataKey() refused: the key is the active one, or envelopes in registered columns still
 * use it (re-encrypt them first). Destroying it would make them undecryptable for good.
 */
export class DataKeyInUseError extends KmsError {
  readonly code = 'KMS_DATA_KEY_IN_USE';
  constructor(
    readonly keyId: string,
    /** Envelopes still under the key; 0 when it is refused for being the active key. */
    readonly envelopes: number,
    readonly active: boolean,
  ) {
    super(
      active
        ? `Data key ${quotedInput(keyId)} is the active key: rotate the data key before destroying it; nothing was deleted`
        : `Data key ${quotedInput(keyId)} is still used by ${envelopes} envelope(s): run re-encryption (reencrypt()) first; nothing was deleted`,
    );
  }
}
