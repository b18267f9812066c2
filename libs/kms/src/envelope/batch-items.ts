import { BatchTooLargeError } from '../errors/batch-too-large.error.js';
import { InvalidInputError } from '../errors/invalid-input.error.js';
import { KmsError } from '../errors/kms.error.js';
import type { BatchResult } from '../interfaces/kms-batch.interface.js';
import { encodeAad } from './aad.js';
import { KMS_MAX_BATCH_ITEMS } from './envelope.constants.js';
import { checkNames } from './operation-options.js';

const PLAINTEXT_ITEM = new Set(['plaintext', 'aad']);
const ENVELOPE_ITEM = new Set(['envelope', 'aad']);

/** An item of a batch as the keyring seals or opens it: its value and the AAD it is bound to. */
export interface BatchItem {
  readonly value: unknown;
  readonly aad: Buffer | undefined;
}

/** A batch's items: an array of at most KMS_MAX_BATCH_ITEMS, else refused whole. */
export function checkBatch(items: unknown, field: string): readonly unknown[] {
  if (!Array.isArray(items)) throw new InvalidInputError(field, 'must be an array');
  if (items.length > KMS_MAX_BATCH_ITEMS) {
    throw new BatchTooLargeError(items.length, KMS_MAX_BATCH_ITEMS);
  }
  return items;
}

/**
 * An encryptMany item: a plaintext bound to the call's `aad` (encoded once for the batch), or
 * `{ plaintext, aad? }` with its own. A wrong item is this item's InvalidInputError.
 */
export function plaintextItem(item: unknown, callAad: Buffer | undefined): BatchItem {
  return ownItem(item, 'plaintext', PLAINTEXT_ITEM, callAad);
}

/** A decryptMany item: an envelope, or `{ envelope, aad? }` with its own expected AAD. */
export function envelopeItem(item: unknown, callAad: Buffer | undefined): BatchItem {
  return ownItem(item, 'envelope', ENVELOPE_ITEM, callAad);
}

/** An item's failure: a KmsError is this item's outcome; anything else is a fault of the call. */
export function failedItem(error: unknown): BatchResult<never> {
  if (error instanceof KmsError) return { ok: false, error };
  throw error;
}

function ownItem(
  item: unknown,
  field: 'plaintext' | 'envelope',
  known: ReadonlySet<string>,
  callAad: Buffer | undefined,
): BatchItem {
  if (
    item === null ||
    typeof item !== 'object' ||
    Buffer.isBuffer(item) ||
    !Object.hasOwn(item, field)
  ) {
    return { value: item, aad: callAad };
  }
  const own = checkNames(item, known, 'item') as Record<string, unknown>;
  const aad = own.aad === undefined ? callAad : encodeAad(own.aad as never);
  return { value: own[field], aad };
}
