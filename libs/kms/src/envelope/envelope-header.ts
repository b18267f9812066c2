import { ENVELOPE_ALG, ENVELOPE_VERSION } from './envelope.constants.js';

const DOMAIN = Buffer.from('nest-kms/envelope', 'ascii');
const TWO_32 = 2 ** 32;

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
  const aadLength = aad === undefined ? 0 : 4 + aad.length;
  const out = Buffer.allocUnsafe(
    DOMAIN.length + 1 + 1 + ENVELOPE_ALG.length + 1 + keyId.length + 8 + 1 + aadLength,
  );
  let at = DOMAIN.copy(out, 0);
  at = out.writeUInt8(ENVELOPE_VERSION, at);
  at = out.writeUInt8(ENVELOPE_ALG.length, at);
  at += out.write(ENVELOPE_ALG, at, 'ascii');
  at = out.writeUInt8(keyId.length, at);
  at += out.write(keyId, at, 'ascii');
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
