import { createHash, randomFillSync, timingSafeEqual } from 'node:crypto';
import {
  BINDING_BYTES,
  BOUND_KEY_BYTES,
  DATA_KEY_BINDING_LABEL,
  DATA_KEY_BYTES,
} from './azure-key-vault.constants.js';

/**
 * What the vault wraps: the data key, SHA-256 of its id, and a random nonce. RSA-OAEP and AES key
 * wrap take no associated data, so the id travels inside the wrapped bytes and is checked on
 * unwrap; the nonce makes each wrap of the same key differ. The caller zeroes the returned buffer
 * once the vault has it.
 */
export function boundDataKey(dataKey: Buffer, dataKeyId: string): Buffer {
  const bound = Buffer.alloc(BOUND_KEY_BYTES);
  dataKey.copy(bound, 0);
  bindingOf(dataKeyId).copy(bound, DATA_KEY_BYTES);
  randomFillSync(bound, DATA_KEY_BYTES + BINDING_BYTES);
  return bound;
}

/**
 * The data key inside `bound` when it is bound to `dataKeyId` (checked in constant time), else
 * undefined. `bound` is left as it is: the caller zeroes it.
 */
export function dataKeyFrom(bound: Uint8Array, dataKeyId: string): Buffer | undefined {
  if (bound.length !== BOUND_KEY_BYTES) return undefined;
  const binding = bound.subarray(DATA_KEY_BYTES, DATA_KEY_BYTES + BINDING_BYTES);
  if (!timingSafeEqual(binding, bindingOf(dataKeyId))) return undefined;
  return Buffer.from(bound.subarray(0, DATA_KEY_BYTES));
}

function bindingOf(dataKeyId: string): Buffer {
  return createHash('sha256').update(`${DATA_KEY_BINDING_LABEL}${dataKeyId}`, 'utf8').digest();
}
