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
    /**
     * Whether the same load may succeed later: the underlying error was transient (a master key,
     * a tenant's KMS or a replicated key not there yet), not the value.
     */
    readonly retryable = false,
  ) {
    super(`Cannot decrypt ${entity}.${column} of row ${quotedInput(rowId)}: ${detail} (${reason})`);
  }
}
