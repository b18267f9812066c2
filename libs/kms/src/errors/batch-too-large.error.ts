import { KmsError } from './kms.error.js';

/** A batch (encryptMany, decryptMany) holds more items than one call takes; nothing was done. */
export class BatchTooLargeError extends KmsError {
  readonly code = 'KMS_BATCH_TOO_LARGE';
  constructor(
    /** How many items the call held. */
    readonly items: number,
    /** The most one call takes (KMS_MAX_BATCH_ITEMS). */
    readonly max: number,
  ) {
    super(`Batch too large: ${items} items, at most ${max} per call (split it into several calls)`);
  }
}
