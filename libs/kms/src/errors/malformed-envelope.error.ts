import { KmsError } from './kms.error.js';

/** An untrusted envelope failed validation; `field` names which, `problem` says why. */
export class MalformedEnvelopeError extends KmsError {
  readonly code = 'KMS_MALFORMED_ENVELOPE';
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`Malformed envelope: ${field} ${problem}`);
  }
}
