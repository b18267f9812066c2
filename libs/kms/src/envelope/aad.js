import { timingSafeEqual } from 'node:crypto';
import { InvalidInputError } from '../errors/invalid-input.error.js';
import { MAX_AAD_BYTES } from './envelope.constants.js';
const STRING_AAD = 0x01;
const MAP_AAD = 0x02;
function wellFormed(field, value) {
  if (!value.isWellFormed()) throw new InvalidInputError(field, 'contains a lone UTF-16 surrogate');
}
export function encodeAad(aad) {
  if (typeof aad === 'string') {
    wellFormed('aad', aad);
    const bytes = Buffer.allocUnsafe(1 + Buffer.byteLength(aad, 'utf8'));
    bytes[0] = STRING_AAD;
    bytes.write(aad, 1, 'utf8');
    return checkSize(bytes);
  }
  if (aad === null || typeof aad !== 'object' || Array.isArray(aad)) {
    throw new InvalidInputError('aad', 'must be a string or a flat object of strings');
  }
  const keys = Object.keys(aad).sort();
  const parts = [Buffer.of(MAP_AAD)];
  for (const key of keys) {
    const value = aad[key];
    if (typeof value !== 'string') {
      throw new InvalidInputError('aad', `value of "${key}" must be a string`);
    }
    wellFormed('aad', key);
    wellFormed('aad', value);
    parts.push(lengthPrefixed(key), lengthPrefixed(value));
  }
  return checkSize(Buffer.concat(parts));
}
function lengthPrefixed(text) {
  const length = Buffer.byteLength(text, 'utf8');
  const out = Buffer.allocUnsafe(4 + length);
  out.writeUInt32BE(length, 0);
  out.write(text, 4, 'utf8');
  return out;
}
function checkSize(bytes) {
  if (bytes.length > MAX_AAD_BYTES) {
    throw new InvalidInputError('aad', `encodes to more than ${MAX_AAD_BYTES} bytes`);
  }
  return bytes;
}
export function aadEquals(stored, expected) {
  if (stored === undefined || stored.length !== expected.length) return false;
  return timingSafeEqual(stored, expected);
}
//# sourceMappingURL=aad.js.map
