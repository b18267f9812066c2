import type { EnvelopePurpose } from '../envelope/envelope.interface.js';
import { KmsError } from './kms.error.js';

const described = (purpose: EnvelopePurpose | undefined) =>
  purpose === undefined ? 'the public encrypt API' : `nest-kms's ${purpose} store`;

/**
 * An envelope sealed for one purpose was opened as another: a secret value or a column value
 * through `decryptData`, or an envelope of the public API as a secret or a column value. The
 * purpose is authenticated, so no AAD a caller chooses can change it.
 */
export class EnvelopePurposeError extends KmsError {
  readonly code = 'KMS_ENVELOPE_PURPOSE_MISMATCH';
  constructor(
    /** What the envelope was opened as (undefined: the public API). */
    readonly expected: EnvelopePurpose | undefined,
    /** What it was sealed for (undefined: the public API). */
    readonly actual: EnvelopePurpose | undefined,
  ) {
    super(
      `Envelope purpose mismatch: sealed for ${described(actual)}, so it does not open as a value of ${described(expected)}`,
    );
  }
}
