import { ENVELOPE_ALG, ENVELOPE_VERSION, PURPOSE_ENVELOPE_VERSION } from './envelope.constants.js';
import type { EnvelopePurpose } from './envelope.interface.js';

const DOMAIN = Buffer.from('nest-kms/envelope', 'ascii');
const TWO_32 = 2 ** 32;
/** Prefixes of the data keys in use; a keyring holds few, this only bounds a surprise. */
const PREFIX_CACHE_MAX = 1_024;
/** Header prefixes by purpose (undefined: the public format v1), then by key id. */
const prefixes = new Map<EnvelopePurpose | undefined, Map<string, Buffer>>();

/**
 * domain | v | len alg | alg | [len purpose | purpose] | len keyId | keyId: constant per data
 * key and purpose, so built once. Format v1 has no purpose; v2 always has one, and its version
 * byte differs, so no v1 header equals any v2 header.
 */
function headerPrefix(keyId: string, purpose: EnvelopePurpose | undefined): Buffer {
  let byKey = prefixes.get(purpose);
  if (byKey === undefined) {
    byKey = new Map();
    prefixes.set(purpose, byKey);
  }
  let prefix = byKey.get(keyId);
  if (prefix === undefined) {
    const purposeLength = purpose === undefined ? 0 : 1 + purpose.length;
    prefix = Buffer.alloc(
      DOMAIN.length + 1 + 1 + ENVELOPE_ALG.length + purposeLength + 1 + keyId.length,
    );
    let at = DOMAIN.copy(prefix, 0);
    at = prefix.writeUInt8(purpose === undefined ? ENVELOPE_VERSION : PURPOSE_ENVELOPE_VERSION, at);
    at = prefix.writeUInt8(ENVELOPE_ALG.length, at);
    at += prefix.write(ENVELOPE_ALG, at, 'ascii');
    if (purpose !== undefined) {
      at = prefix.writeUInt8(purpose.length, at);
      at += prefix.write(purpose, at, 'ascii');
    }
    at = prefix.writeUInt8(keyId.length, at);
    prefix.write(keyId, at, 'ascii');
    if (byKey.size >= PREFIX_CACHE_MAX) byKey.clear();
    byKey.set(keyId, prefix);
  }
  return prefix;
}

/**
 * The GCM additional data of an envelope: every header field, its purpose and the caller's AAD
 * in one canonical byte string (layout in docs/envelope-format.md). Changing any of them
 * changes these bytes, so the tag no longer verifies.
 */
export function envelopeHeaderAad(
  keyId: string,
  timestamp: number,
  aad: Buffer | undefined,
  purpose: EnvelopePurpose | undefined,
): Buffer {
  const prefix = headerPrefix(keyId, purpose);
  const aadLength = aad === undefined ? 0 : 4 + aad.length;
  const out = Buffer.allocUnsafe(prefix.length + 8 + 1 + aadLength);
  let at = prefix.copy(out, 0);
  at = out.writeUInt32BE(Math.floor(timestamp / TWO_32), at);
  at = out.writeUInt32BE(timestamp % TWO_32, at);
  if (aad === undefined) {
    out.writeUInt8(0, at);
  } else {
    at = out.writeUInt8(1, at);
    at = out.writeUInt32BE(aad.length, at);
    aad.copy(out, at);
  }
  return out;
}

/** Headers by purpose then key id, rewritten in place per call (see headerWithoutAad). */
type HeaderBuffers = Map<EnvelopePurpose | undefined, Map<string, Buffer>>;
const bareHeaders: HeaderBuffers = new Map();
const aadHeaders: HeaderBuffers = new Map();

function headersOf(headers: HeaderBuffers, purpose: EnvelopePurpose | undefined) {
  let byKey = headers.get(purpose);
  if (byKey === undefined) {
    byKey = new Map();
    headers.set(purpose, byKey);
  }
  return byKey;
}

/**
 * envelopeHeaderAad(keyId, timestamp, undefined, purpose) in a buffer of this key's that the
 * next call overwrites: for a caller that hands it to the cipher (which copies it) at once.
 */
export function headerWithoutAad(
  keyId: string,
  timestamp: number,
  purpose: EnvelopePurpose | undefined,
): Buffer {
  const byKey = headersOf(bareHeaders, purpose);
  let header = byKey.get(keyId);
  if (header === undefined) {
    header = envelopeHeaderAad(keyId, 0, undefined, purpose);
    if (byKey.size >= PREFIX_CACHE_MAX) byKey.clear();
    byKey.set(keyId, header);
  }
  const at = header.length - 9;
  header.writeUInt32BE(Math.floor(timestamp / TWO_32), at);
  header.writeUInt32BE(timestamp % TWO_32, at + 4);
  return header;
}

/**
 * The header of an envelope with `aadBytes` bytes of AAD, all but those last bytes written:
 * the caller decodes the envelope's AAD into them. Like headerWithoutAad, a buffer of this
 * key's that the next call overwrites (kept while the AAD's length repeats, as a caller's does).
 */
export function headerWithAad(
  keyId: string,
  timestamp: number,
  aadBytes: number,
  purpose: EnvelopePurpose | undefined,
): Buffer {
  const prefix = headerPrefix(keyId, purpose);
  const byKey = headersOf(aadHeaders, purpose);
  let out = byKey.get(keyId);
  if (out === undefined || out.length !== prefix.length + 13 + aadBytes) {
    out = Buffer.allocUnsafe(prefix.length + 13 + aadBytes);
    prefix.copy(out, 0);
    if (byKey.size >= PREFIX_CACHE_MAX) byKey.clear();
    byKey.set(keyId, out);
  }
  let at = prefix.length;
  at = out.writeUInt32BE(Math.floor(timestamp / TWO_32), at);
  at = out.writeUInt32BE(timestamp % TWO_32, at);
  at = out.writeUInt8(1, at);
  out.writeUInt32BE(aadBytes, at);
  return out;
}
