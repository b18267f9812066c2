import type { AadInput, BatchResult } from '@nest-kms/kms';
import { ApiError } from '../http/api-error.js';
import type { BatchItemError } from './kms-batch.dto.js';
import { transitAad } from './transit-aad.js';

/** One item's answer: its value under `field`, or its error's code and message only. */
export type BatchAnswer<F extends string, T> =
  ({ ok: true } & Record<F, T>) | { ok: false; error: BatchItemError };

/**
 * Items one batch request takes: below the library's KMS_MAX_BATCH_ITEMS, so that a batch of
 * compact envelopes with their AAD fits the body's bound of 1,000 JSON values (an object
 * envelope takes 8 of them: a batch of those is bounded by the body first, 400
 * JSON_TOO_MANY_VALUES).
 */
export const DEMO_BATCH_MAX_ITEMS = 100;

/** 413 BATCH_TOO_LARGE above DEMO_BATCH_MAX_ITEMS, before anything is sealed or opened. */
export function checkBatchSize(items: readonly unknown[]): void {
  if (items.length > DEMO_BATCH_MAX_ITEMS) {
    throw new ApiError(
      413,
      'BATCH_TOO_LARGE',
      `A batch holds at most ${DEMO_BATCH_MAX_ITEMS} items; split it into several requests`,
      { max: DEMO_BATCH_MAX_ITEMS },
    );
  }
}

/**
 * Runs `run` on the items whose transit AAD could be built (a reserved key fails its item
 * alone) and answers one result per item, in order, under `field`.
 */
export async function transitBatch<I extends { aad?: AadInput }, V, F extends string>(
  caller: string,
  items: readonly I[],
  field: F,
  run: (bound: { item: I; aad: Record<string, string> }[]) => Promise<BatchResult<V>[]>,
): Promise<BatchAnswer<F, V>[]> {
  const answers: (BatchAnswer<F, V> | undefined)[] = [];
  const bound: { item: I; aad: Record<string, string> }[] = [];
  const at: number[] = [];
  items.forEach((item, index) => {
    try {
      bound.push({ item, aad: transitAad(caller, item.aad) });
      at.push(index);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      answers[index] = { ok: false, error: { code: error.code, message: error.message } };
    }
  });
  const results = await run(bound);
  results.forEach((result, index) => {
    answers[at[index]] = result.ok
      ? ({ ok: true, [field]: result.value } as BatchAnswer<F, V>)
      : { ok: false, error: { code: result.error.code, message: result.error.message } };
  });
  return answers as BatchAnswer<F, V>[];
}
