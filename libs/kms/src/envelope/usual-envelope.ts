import { createDecipheriv } from 'node:crypto';
import { AES_256_GCM } from '../crypto/aes-256-gcm.js';
import { canonicalDecodedLength, decodeCanonicalInto } from '../crypto/base64.js';
import {
  COMPACT_PREFIX,
  ENVELOPE_ALG,
  ENVELOPE_VERSION,
  KEY_ID_PATTERN,
  MAX_AAD_BYTES,
  MAX_PLAINTEXT_BYTES,
  PURPOSE_COMPACT_PREFIX,
} from './envelope.constants.js';
import { headerWithoutAad, headerWithAad } from './envelope-header.js';
import type { EnvelopePurpose } from './envelope.interface.js';

type Encoding = 'base64' | 'base64url';

/*
 * The decrypt hot path, for the envelope as nest-kms writes it: every check of parseEnvelope and
 * openEnvelope, in one pass, without the intermediate objects (field record, parsed envelope,
 * views, header) those build. It never throws: anything it does not accept (a fault of any
 * kind, a key not in memory, a tag or AAD that does not match) is `undefined`, and the caller
 * takes the path that names the fault. envelope-fuzz.spec.ts holds the two paths to the same
 * verdict on every input.
 *
 * The IV, tag and a ciphertext up to CIPHERTEXT's size are decoded into these buffers, and the
 * header into one buffer per key: createDecipheriv, setAuthTag, setAAD and update copy or
 * consume what they are given before returning, and nothing here awaits, so no call sees
 * another's bytes. (A ciphertext is not secret; the plaintext is in a buffer of its own.)
 */
const IV = Buffer.alloc(AES_256_GCM.ivBytes);
const TAG = Buffer.alloc(AES_256_GCM.tagBytes);
const CIPHERTEXT = Buffer.alloc(4 * 1024);
/** The last view of CIPHERTEXT handed out: a caller's values tend to repeat their size. */
let ciphertextView = CIPHERTEXT.subarray(0, 0);
const DECIPHER_OPTIONS = Object.freeze({ authTagLength: AES_256_GCM.tagBytes });
const COMPACT_HEAD = `${COMPACT_PREFIX}.`;
const PURPOSE_COMPACT_HEAD = `${PURPOSE_COMPACT_PREFIX}.`;
const DOT = 0x2e;
const ZERO = 0x30;
/** Key ids already checked against KEY_ID_PATTERN (a keyring holds few; this bounds a surprise). */
const CHECKED_KEY_IDS = new Set<string>();
const CHECKED_KEY_IDS_MAX = 1_024;

/**
 * The plaintext of `input` (an envelope object or compact string) opened for `purpose` under
 * the key `materialOf` holds for its id, bound to exactly `expectedAad` when given; undefined
 * for anything else (see above). A store's value in format v1 is left to the caller, which
 * decides whether the store still accepts it.
 */
export function openUsualEnvelope(
  input: unknown,
  purpose: EnvelopePurpose | undefined,
  materialOf: (keyId: string) => Buffer | undefined,
  expectedAad: Buffer | undefined,
): Buffer | undefined {
  if (typeof input === 'string') {
    return openCompact(input, purpose, materialOf, expectedAad);
  }
  if (purpose !== undefined || input === null || typeof input !== 'object') return undefined;
  const prototype = Object.getPrototypeOf(input) as unknown;
  if (prototype !== Object.prototype && prototype !== null) return undefined;
  let v, alg, keyId, iv, tag, ciphertext, aad, timestamp: unknown;
  for (const name of Object.getOwnPropertyNames(input)) {
    const property = Object.getOwnPropertyDescriptor(input, name)!;
    if (!property.enumerable || !('value' in property)) return undefined;
    const value: unknown = property.value;
    // A switch on the name, not a Set of names: the names are interned, so each case is one compare.
    switch (name) {
      case 'v':
        v = value;
        break;
      case 'alg':
        alg = value;
        break;
      case 'keyId':
        keyId = value;
        break;
      case 'iv':
        iv = value;
        break;
      case 'tag':
        tag = value;
        break;
      case 'ciphertext':
        ciphertext = value;
        break;
      case 'aad':
        aad = value;
        break;
      case 'timestamp':
        timestamp = value;
        break;
      default:
        return undefined;
    }
  }
  if (Object.getOwnPropertySymbols(input).length > 0) return undefined;
  if (v !== ENVELOPE_VERSION || alg !== ENVELOPE_ALG) return undefined;
  if (typeof timestamp !== 'number' || !Number.isSafeInteger(timestamp) || timestamp < 0) {
    return undefined;
  }
  return openFields(
    purpose,
    keyId,
    timestamp,
    iv,
    tag,
    ciphertext,
    aad,
    'base64',
    materialOf,
    expectedAad,
  );
}

function openCompact(
  text: string,
  purpose: EnvelopePurpose | undefined,
  materialOf: (keyId: string) => Buffer | undefined,
  expectedAad: Buffer | undefined,
): Buffer | undefined {
  // The fields are found by index: split('.') would allocate an array and a string per field.
  let from: number;
  if (purpose === undefined) {
    if (!text.startsWith(COMPACT_HEAD)) return undefined;
    from = COMPACT_HEAD.length;
  } else {
    from = PURPOSE_COMPACT_HEAD.length;
    if (
      !text.startsWith(PURPOSE_COMPACT_HEAD) ||
      !text.startsWith(purpose, from) ||
      text.charCodeAt(from + purpose.length) !== DOT
    ) {
      return undefined;
    }
    from += purpose.length + 1;
  }
  const keyIdEnd = text.indexOf('.', from);
  const timestampEnd = keyIdEnd < 0 ? -1 : text.indexOf('.', keyIdEnd + 1);
  const ivEnd = timestampEnd < 0 ? -1 : text.indexOf('.', timestampEnd + 1);
  const tagEnd = ivEnd < 0 ? -1 : text.indexOf('.', ivEnd + 1);
  if (tagEnd < 0) return undefined;
  let ciphertextEnd = text.indexOf('.', tagEnd + 1);
  let aad: string | undefined;
  if (ciphertextEnd < 0) {
    ciphertextEnd = text.length;
  } else {
    if (text.indexOf('.', ciphertextEnd + 1) >= 0) return undefined;
    aad = text.slice(ciphertextEnd + 1);
  }
  const timestamp = compactTimestamp(text, keyIdEnd + 1, timestampEnd);
  if (timestamp < 0) return undefined;
  return openFields(
    purpose,
    text.slice(from, keyIdEnd),
    timestamp,
    text.slice(timestampEnd + 1, ivEnd),
    text.slice(ivEnd + 1, tagEnd),
    text.slice(tagEnd + 1, ciphertextEnd),
    aad,
    'base64url',
    materialOf,
    expectedAad,
  );
}

/**
 * The compact form's timestamp, text[from, to): decimal digits without a leading zero, a safe
 * integer; -1 for anything else. (Past 2^53 the sum rounds, but never down to a safe integer.)
 */
function compactTimestamp(text: string, from: number, to: number): number {
  const digits = to - from;
  if (digits < 1 || digits > 16 || (digits > 1 && text.charCodeAt(from) === ZERO)) return -1;
  let value = 0;
  for (let at = from; at < to; at++) {
    const digit = text.charCodeAt(at) - ZERO;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return Number.isSafeInteger(value) ? value : -1;
}

function openFields(
  purpose: EnvelopePurpose | undefined,
  keyId: unknown,
  timestamp: number,
  iv: unknown,
  tag: unknown,
  ciphertext: unknown,
  aad: unknown,
  encoding: Encoding,
  materialOf: (keyId: string) => Buffer | undefined,
  expectedAad: Buffer | undefined,
): Buffer | undefined {
  if (typeof keyId !== 'string' || !checkedKeyId(keyId)) return undefined;
  const key = materialOf(keyId);
  if (key === undefined) return undefined;
  if (typeof iv !== 'string' || typeof tag !== 'string' || typeof ciphertext !== 'string') {
    return undefined;
  }
  if (canonicalDecodedLength(iv, encoding) !== AES_256_GCM.ivBytes) return undefined;
  if (canonicalDecodedLength(tag, encoding) !== AES_256_GCM.tagBytes) return undefined;
  const ciphertextBytes = canonicalDecodedLength(ciphertext, encoding);
  if (ciphertextBytes < 0 || ciphertextBytes > MAX_PLAINTEXT_BYTES) return undefined;
  let header: Buffer;
  let aadAt = 0;
  if (aad === undefined) {
    if (expectedAad !== undefined) return undefined;
    header = headerWithoutAad(keyId, timestamp, purpose);
  } else {
    if (typeof aad !== 'string') return undefined;
    const aadBytes = canonicalDecodedLength(aad, encoding);
    if (aadBytes <= 0 || aadBytes > MAX_AAD_BYTES) return undefined;
    header = headerWithAad(keyId, timestamp, aadBytes, purpose);
    aadAt = header.length - aadBytes;
    if (!decodeCanonicalInto(aad, encoding, header, aadAt, aadBytes)) return undefined;
  }
  if (expectedAad !== undefined && header.length - aadAt !== expectedAad.length) return undefined;
  const bytes =
    ciphertextBytes > CIPHERTEXT.length
      ? Buffer.allocUnsafe(ciphertextBytes)
      : ciphertextBytes === ciphertextView.length
        ? ciphertextView
        : (ciphertextView = CIPHERTEXT.subarray(0, ciphertextBytes));
  if (
    !decodeCanonicalInto(iv, encoding, IV, 0, AES_256_GCM.ivBytes) ||
    !decodeCanonicalInto(tag, encoding, TAG, 0, AES_256_GCM.tagBytes) ||
    !decodeCanonicalInto(ciphertext, encoding, bytes, 0, ciphertextBytes)
  ) {
    return undefined;
  }
  const decipher = createDecipheriv(AES_256_GCM.name, key, IV, DECIPHER_OPTIONS);
  decipher.setAuthTag(TAG);
  decipher.setAAD(header);
  const head = decipher.update(bytes);
  let tail: Buffer;
  try {
    tail = decipher.final();
  } catch {
    head.fill(0);
    return undefined;
  }
  const plaintext = tail.length === 0 ? head : Buffer.concat([head, tail]);
  if (expectedAad !== undefined && !sameBytesAt(header, aadAt, expectedAad)) {
    plaintext.fill(0);
    return undefined;
  }
  return plaintext;
}

function checkedKeyId(keyId: string): boolean {
  if (CHECKED_KEY_IDS.has(keyId)) return true;
  if (!KEY_ID_PATTERN.test(keyId)) return false;
  if (CHECKED_KEY_IDS.size >= CHECKED_KEY_IDS_MAX) CHECKED_KEY_IDS.clear();
  CHECKED_KEY_IDS.add(keyId);
  return true;
}

/**
 * Whether `bytes` from `at` to its end equal `expected`, in time that depends on the lengths
 * alone: timingSafeEqual's comparison without a view and a call into Node for a short AAD.
 */
function sameBytesAt(bytes: Buffer, at: number, expected: Buffer): boolean {
  if (bytes.length - at !== expected.length) return false;
  let difference = 0;
  for (let i = 0; i < expected.length; i++) difference |= bytes[at + i] ^ expected[i];
  return difference === 0;
}
