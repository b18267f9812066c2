import { ENVELOPE_ALG, ENVELOPE_VERSION } from './envelope.constants.js';

const DOMAIN = Buffer.from('nest-kms/envelope', 'ascii');
const TWO_32 = 2 ** 32;
/** Prefixes of the data keys in use; a keyring holds few, this only bounds a surprise. */
const PREFIX_CACHE_MAX = 1_024;
const prefixes = new Map<string, Buffer>();

/** domain | v | len alg | alg | len keyId | keyId: constant per data key, so built once. */
function headerPrefix(keyId: string): Buffer {
  let prefix = prefixes.get(keyId);
  if (prefix === undefined) {
    prefix = Buffer.alloc(DOMAIN.length + 1 + 1 + ENVELOPE_ALG.length + 1 + keyId.length);
    let at = DOMAIN.copy(prefix, 0);
    at = prefix.writeUInt8(ENVELOPE_VERSION, at);
    at = prefix.writeUInt8(ENVELOPE_ALG.length, at);
    at += prefix.write(ENVELOPE_ALG, at, 'ascii');
    at = prefix.writeUInt8(keyId.length, at);
    prefix.write(keyId, at, 'ascii');
    if (prefixes.size >= PREFIX_CACHE_MAX) prefixes.clear();
    prefixes.set(keyId, prefix);
  }
  return prefix;
}

/**
 * The GCM additional data of an envelope: every header field and the caller's AAD in one
 * canonical byte string (layout in docs/envelope-format.md). Changing any of them changes
 * these bytes, so the tag no longer verifies.
 */
export function envelopeHeaderAad(
  keyId: string,
  timestamp: number,
  aad: Buffer | undefined,
): Buffer {
  const prefix = headerPrefix(keyId);
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
