import type { EnvelopePurpose } from '../envelope/envelope.interface.js';
import { KmsError } from './kms.error.js';

/**
 * A value of a nest-kms store still in format v1 (written before envelopes carried their
 * purpose) after the keyring stopped accepting that form: re-encryption had moved every stored
 * value to format v2, so a v1 value here was written since, by something other than nest-kms.
 */
export class LegacyEnvelopeRefusedError extends KmsError {
  readonly code = 'KMS_LEGACY_ENVELOPE_REFUSED';
  constructor(readonly purpose: EnvelopePurpose) {
    super(
      `Legacy envelope refused: a format-v1 envelope is no longer accepted as a ${purpose} value (every stored one was re-encrypted to format v2). Restore it from a backup, or set legacyEnvelopes: 'accept' while you investigate`,
    );
  }
}
