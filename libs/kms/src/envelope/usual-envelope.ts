import { createDecipheriv, timingSafeEqual } from 'node:crypto';
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
const DECIPHER_OPTIONS = Object.freeze({ authTagLength: AES_256_GCM.tagBytes });
const TIMESTAMP_DIGITS = /^(?:0|[1-9][0-9]{0,15})$/;
const FIELDS = new Set(['v', 'alg', 'keyId', 'iv', 'tag', 'ciphertext', 'aad', 'timestamp']);
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
    if (!FIELDS.has(name) || !property.enumerable || !('value' in property)) return undefined;
    const value: unknown = property.value;
    if (name === 'v') v = value;
    else if (name === 'alg') alg = value;
    else if (name === 'keyId') keyId = value;
    else if (name === 'iv') iv = value;
    else if (name === 'tag') tag = value;
    else if (name === 'ciphertext') ciphertext = value;
    else if (name === 'aad') aad = value;
    else timestamp = value;
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
  const parts = text.split('.');
  let first = 1;
  if (purpose === undefined) {
    if (parts[0] !== COMPACT_PREFIX) return undefined;
  } else {
    if (parts[0] !== PURPOSE_COMPACT_PREFIX || parts[1] !== purpose) return undefined;
    first = 2;
  }
  const fields = parts.length - first;
  if (fields !== 5 && fields !== 6) return undefined;
  const timestamp = parts[first + 1];
  if (!TIMESTAMP_DIGITS.test(timestamp) || !Number.isSafeInteger(Number(timestamp))) {
    return undefined;
  }
  return openFields(
    purpose,
    parts[first],
    Number(timestamp),
    parts[first + 2],
    parts[first + 3],
    parts[first + 4],
    parts[first + 5],
    'base64url',
    materialOf,
    expectedAad,
  );
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
    ciphertextBytes <= CIPHERTEXT.length
      ? CIPHERTEXT.subarray(0, ciphertextBytes)
      : Buffer.allocUnsafe(ciphertextBytes);
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
  if (expectedAad !== undefined && !timingSafeEqual(header.subarray(aadAt), expectedAad)) {
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
