import { failedItem, type BatchItem } from '../envelope/batch-items.js';
import type {
  EnvelopePurpose,
  EnvelopeV1,
  ParsedEnvelope,
} from '../envelope/envelope.interface.js';
import { plaintextBytes } from '../envelope/plaintext-bytes.js';
import { openUsualEnvelope } from '../envelope/usual-envelope.js';
import type { BatchResult } from '../interfaces/kms-batch.interface.js';
import { EnvelopeOpening, openBound } from './envelope-opening.js';
import type { KeySource } from './key-source.js';

/** Seals bytes under the active key of `keys` (KeyringEnvelopes.sealBytes, which counts it). */
export type BytesSealer = (
  bytes: Buffer,
  aad: Buffer | undefined,
  purpose: EnvelopePurpose | undefined,
  keys: KeySource,
) => ParsedEnvelope;

/**
 * Seals and opens many envelopes in one call, each item to its own AAD and with its own result:
 * one item's failure never fails the others, and each key not in memory is fetched once for
 * every envelope under it.
 */
export class EnvelopeBatches {
  constructor(
    private readonly opening: EnvelopeOpening,
    private readonly sealBytes: BytesSealer,
  ) {}

  /**
   * Seals `count` items under the active key, each to its own AAD, in order; `itemAt` (which may
   * throw for its item) says what each is. One item's failure is that item's result.
   */
  sealMany(
    count: number,
    itemAt: (at: number) => BatchItem,
    purpose: EnvelopePurpose | undefined,
    keys: KeySource,
  ): BatchResult<ParsedEnvelope>[] {
    const results: BatchResult<ParsedEnvelope>[] = [];
    for (let at = 0; at < count; at++) {
      try {
        const { value, aad } = itemAt(at);
        const owned = typeof value === 'string';
        const bytes = plaintextBytes(value as string | Buffer);
        try {
          results[at] = { ok: true, value: this.sealBytes(bytes, aad, purpose, keys) };
        } finally {
          if (owned) bytes.fill(0);
        }
      } catch (error) {
        results[at] = failedItem(error);
      }
    }
    return results;
  }

  /**
   * Opens `count` envelopes, each checked against its own expected AAD, in order: those under
   * keys in memory at once, and each key not in memory fetched once for all the envelopes under
   * it (a promise only then). One envelope's failure is that envelope's result, reported with
   * `actor` as a single open reports it.
   */
  openMany(
    count: number,
    itemAt: (at: number) => BatchItem,
    purpose: EnvelopePurpose | undefined,
    actor: string | undefined,
    keys: KeySource,
  ): BatchResult<Buffer>[] | Promise<BatchResult<Buffer>[]> {
    const { opening } = this;
    const results: BatchResult<Buffer>[] = [];
    let unknownKeys: Map<string, [number, ParsedEnvelope, Buffer | undefined][]> | undefined;
    for (let at = 0; at < count; at++) {
      let keyId: string | undefined;
      try {
        const { value, aad } = itemAt(at);
        const opened = openUsualEnvelope(value, purpose, keys.materialOf, aad);
        if (opened !== undefined) {
          results[at] = { ok: true, value: opened };
          continue;
        }
        const parsed = opening.parse(value as EnvelopeV1 | string, purpose, keys);
        keyId = parsed.keyId;
        const key = keys.get(keyId);
        if (key) {
          results[at] = { ok: true, value: openBound(key, parsed, aad) };
          continue;
        }
        unknownKeys ??= new Map();
        let waiting = unknownKeys.get(keyId);
        if (!waiting) unknownKeys.set(keyId, (waiting = []));
        waiting.push([at, parsed, aad]);
      } catch (error) {
        results[at] = failedItem(opening.failed(error, keyId, actor));
      }
    }
    if (!unknownKeys) return results;
    const fetches = [...unknownKeys].map(([keyId, waiting]) =>
      keys.fetch(keyId).then(
        (key) => {
          for (const [at, parsed, aad] of waiting) {
            try {
              results[at] = { ok: true, value: openBound(key, parsed, aad) };
            } catch (error) {
              results[at] = failedItem(opening.failed(error, keyId, actor));
            }
          }
        },
        (error: unknown) => {
          for (const [at] of waiting) results[at] = failedItem(opening.failed(error, keyId, actor));
        },
      ),
    );
    return Promise.all(fetches).then(() => results);
  }
}
