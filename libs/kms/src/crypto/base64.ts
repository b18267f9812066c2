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
  const length = canonicalDecodedLength(text, encoding);
  if (length < 0) return undefined;
  const bytes = Buffer.allocUnsafe(length);
  return decodeCanonicalInto(text, encoding, bytes, 0, length) ? bytes : undefined;
}

/**
 * How many bytes `text` decodes to if it is canonical, from its length and padding alone; -1
 * when its length already rules it out. What lets a caller size one buffer for several fields
 * before decoding any.
 */
export function canonicalDecodedLength(text: string, encoding: 'base64' | 'base64url'): number {
  const length = text.length;
  if (encoding === 'base64') {
    if (length % 4 !== 0) return -1;
    return (length / 4) * 3 - paddingOf(text);
  }
  return length % 4 === 1 ? -1 : Math.floor((length * 3) / 4);
}

/**
 * Decodes `text` into `target` at `offset`, where canonicalDecodedLength(text) = `length` bytes
 * are reserved, and says whether it was canonical. When it was not, those bytes hold garbage
 * and must not be used.
 */
export function decodeCanonicalInto(
  text: string,
  encoding: 'base64' | 'base64url',
  target: Buffer,
  offset: number,
  length: number,
): boolean {
  if (text.length <= SHORT_TEXT) return decodeShortInto(text, encoding, target, offset, length);
  // Node's decoder never writes more than this length for such a text (it sizes Buffer.from by
  // the same arithmetic), so a shorter write is exactly a skipped character.
  const written = target.write(text, offset, length, encoding);
  return written === length && isCanonical(text, encoding);
}

/**
 * Up to this many characters (an IV, a tag, a short value or AAD), decoding in JavaScript costs
 * less than the fixed price of a call into Node's decoder (0.1–0.15 µs).
 */
const SHORT_TEXT = 64;

const EQUALS = 0x3d;
const SEXTET = new Int8Array(128).fill(-1);
/** SEXTET restricted to one alphabet each: a character of the other alphabet is not canonical. */
const BASE64_SEXTET = new Int8Array(128).fill(-1);
const BASE64URL_SEXTET = new Int8Array(128).fill(-1);
for (const [index, char] of [
  ...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789',
].entries()) {
  SEXTET[char.charCodeAt(0)] = index;
  BASE64_SEXTET[char.charCodeAt(0)] = index;
  BASE64URL_SEXTET[char.charCodeAt(0)] = index;
}
SEXTET[0x2b] = SEXTET[0x2d] = 62; // + and -
SEXTET[0x2f] = SEXTET[0x5f] = 63; // / and _
BASE64_SEXTET[0x2b] = BASE64URL_SEXTET[0x2d] = 62;
BASE64_SEXTET[0x2f] = BASE64URL_SEXTET[0x5f] = 63;

/**
 * Two characters at once (their low 7 bits each, so 16,384 entries): their 12 bits, or -1 when
 * either is outside the alphabet. Half the lookups of SEXTET per group of four characters.
 */
function pairsOf(sextets: Int8Array): Int16Array {
  const pairs = new Int16Array(128 * 128).fill(-1);
  for (let first = 0; first < 128; first++) {
    for (let second = 0; second < 128; second++) {
      if (sextets[first] >= 0 && sextets[second] >= 0) {
        pairs[(first << 7) | second] = (sextets[first] << 6) | sextets[second];
      }
    }
  }
  return pairs;
}
const BASE64_PAIRS = pairsOf(BASE64_SEXTET);
const BASE64URL_PAIRS = pairsOf(BASE64URL_SEXTET);

/**
 * decodeCanonicalInto for short texts, by table: every data character of the one alphabet
 * (padding only where canonicalDecodedLength counted it), ASCII only, zero padding bits.
 */
function decodeShortInto(
  text: string,
  encoding: 'base64' | 'base64url',
  target: Buffer,
  offset: number,
  length: number,
): boolean {
  const table = encoding === 'base64' ? BASE64_SEXTET : BASE64URL_SEXTET;
  const pairs = encoding === 'base64' ? BASE64_PAIRS : BASE64URL_PAIRS;
  const dataChars = encoding === 'base64' ? text.length - paddingOf(text) : text.length;
  const whole = dataChars - (dataChars % 4);
  // Codes are looked up by their low 7 bits, so no read leaves the tables: `codes` rules out
  // anything above 127 at the end, and `sextets` turns negative for any character outside the
  // alphabet.
  let codes = 0;
  let sextets = 0;
  let at = offset;
  let i = 0;
  for (; i < whole; i += 4) {
    const a = text.charCodeAt(i);
    const b = text.charCodeAt(i + 1);
    const c = text.charCodeAt(i + 2);
    const d = text.charCodeAt(i + 3);
    codes |= a | b | c | d;
    const high = pairs[((a & 0x7f) << 7) | (b & 0x7f)];
    const low = pairs[((c & 0x7f) << 7) | (d & 0x7f)];
    sextets |= high | low;
    target[at] = high >>> 4;
    target[at + 1] = ((high & 0x0f) << 4) | (low >>> 8);
    target[at + 2] = low & 0xff;
    at += 3;
  }
  const rest = dataChars - whole;
  if (rest === 1) return false;
  if (rest > 0) {
    // 2 or 3 characters: 1 or 2 bytes, with 4 or 2 unused bits that must be zero.
    const a = text.charCodeAt(i);
    const b = text.charCodeAt(i + 1);
    const c = rest === 3 ? text.charCodeAt(i + 2) : 0x41;
    codes |= a | b | c;
    const sa = table[a & 0x7f];
    const sb = table[b & 0x7f];
    const sc = table[c & 0x7f];
    sextets |= sa | sb | sc;
    target[at++] = ((sa << 2) | (sb >>> 4)) & 0xff;
    if (rest === 3) target[at++] = ((sb << 4) | (sc >>> 2)) & 0xff;
    if ((rest === 3 ? sc & 0x03 : sb & 0x0f) !== 0) return false;
  }
  return codes < 0x80 && sextets >= 0 && at - offset === length;
}

function paddingOf(text: string): number {
  const length = text.length;
  if (length === 0 || text.charCodeAt(length - 1) !== EQUALS) return 0;
  return text.charCodeAt(length - 2) === EQUALS ? 2 : 1;
}

/** The checks beyond the decoded length (see the file's comment). */
function isCanonical(text: string, encoding: 'base64' | 'base64url'): boolean {
  const length = text.length;
  // Node decodes a UTF-16 unit by its low byte (U+D551 reads as 'Q'): only ASCII can be canonical.
  if (Buffer.byteLength(text, 'utf8') !== length) return false;
  let dataChars: number;
  if (encoding === 'base64') {
    if (text.includes('-') || text.includes('_')) return false;
    dataChars = length - paddingOf(text);
  } else {
    if (text.includes('+') || text.includes('/') || text.includes('=')) return false;
    dataChars = length;
  }
  // The last character's unused low bits (2 of them before one byte of padding, 4 before two) must be zero.
  const unusedBits = (dataChars * 6) % 8;
  if (unusedBits === 0) return true;
  const last = SEXTET[text.charCodeAt(dataChars - 1)] ?? -1;
  return last >= 0 && (last & ((1 << unusedBits) - 1)) === 0;
}
