import { KmsError } from './kms.error.js';
import { quotedInput } from './quoted-input.js';

/**
 * A value of an encrypted column could not be read back: wrong row or column (the AAD binds it),
 * altered, under an unknown key, or plaintext where plaintext is not accepted. Names where the
 * value is, never what it holds.
 */
export class ColumnDecryptionError extends KmsError {
  readonly code = 'KMS_COLUMN_DECRYPTION_FAILED';
  constructor(
    readonly entity: string,
    readonly column: string,
    readonly rowId: string,
    /** The underlying error's code, e.g. KMS_AAD_MISMATCH or KMS_PLAINTEXT_REFUSED. */
    readonly reason: string,
    detail: string,
  ) {
    super(`Cannot decrypt ${entity}.${column} of row ${quotedInput(rowId)}: ${detail} (${reason})`);
  }
}
