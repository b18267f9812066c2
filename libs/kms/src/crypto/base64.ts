/**
 * Strict base64 decoding. Node's decoder skips characters it does not know, accepts either
 * alphabet in either mode and ignores padding bits, so two different strings can decode to the
 * same bytes; an envelope field that can be altered without changing its bytes would be a
 * mutation that goes unnoticed. Only the canonical encoding of the decoded bytes is accepted.
 *
 * Canonical is checked by arithmetic rather than by re-encoding (which cost as much as the
 * decoding on the decrypt path): ASCII only (Node reads a wider character by its low byte);
 * every skipped character shortens the output, so an exact length rules them out; then no
 * character of the other alphabet, and zero padding bits.
 * base64.spec.ts holds it to the re-encoding definition.
 */
export function decodeCanonical(
  text: string,
  encoding: 'base64' | 'base64url',
): Buffer | undefined {
  const bytes = Buffer.from(text, encoding);
  return isCanonical(text, bytes.length, encoding) ? bytes : undefined;
}

const EQUALS = 0x3d;
const SEXTET = new Int8Array(128).fill(-1);
for (const [index, char] of [
  ...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789',
].entries()) {
  SEXTET[char.charCodeAt(0)] = index;
}
SEXTET[0x2b] = SEXTET[0x2d] = 62; // + and -
SEXTET[0x2f] = SEXTET[0x5f] = 63; // / and _

function isCanonical(
  text: string,
  decodedLength: number,
  encoding: 'base64' | 'base64url',
): boolean {
  const length = text.length;
  // Node decodes a UTF-16 unit by its low byte (U+D551 reads as 'Q'): only ASCII can be canonical.
  if (Buffer.byteLength(text, 'utf8') !== length) return false;
  let dataChars: number;
  if (encoding === 'base64') {
    if (length % 4 !== 0) return false;
    const padding =
      length > 0 && text.charCodeAt(length - 1) === EQUALS
        ? text.charCodeAt(length - 2) === EQUALS
          ? 2
          : 1
        : 0;
    if (decodedLength !== (length / 4) * 3 - padding) return false;
    if (text.includes('-') || text.includes('_')) return false;
    dataChars = length - padding;
  } else {
    if (length % 4 === 1) return false;
    if (decodedLength !== Math.floor((length * 3) / 4)) return false;
    if (text.includes('+') || text.includes('/') || text.includes('=')) return false;
    dataChars = length;
  }
  // The last character's unused low bits (2 of them before one byte of padding, 4 before two) must be zero.
  const unusedBits = (dataChars * 6) % 8;
  if (unusedBits === 0) return true;
  const last = SEXTET[text.charCodeAt(dataChars - 1)] ?? -1;
  return last >= 0 && (last & ((1 << unusedBits) - 1)) === 0;
}
