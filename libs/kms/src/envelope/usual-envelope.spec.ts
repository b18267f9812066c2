import { randomBytes } from 'node:crypto';
import { MalformedEnvelopeError } from '../errors/malformed-envelope.error.js';
import { encodeAad } from './aad.js';
import { sealEnvelope } from './envelope-cipher.js';
import { formatCompactEnvelope, parseEnvelope } from './envelope-codec.js';
import type { EnvelopePurpose } from './envelope.interface.js';
import { openUsualEnvelope } from './usual-envelope.js';

/*
 * The compact form's fields are found by index and its timestamp read digit by digit, not by
 * split() and a regular expression. Each text below has the sealed timestamp's value (or differs
 * from it only past 2^53), so a reader that took its value loosely would rebuild the very header
 * the tag covers and open it: only the form can refuse it, as parseEnvelope does.
 */
const KEY = randomBytes(32);
const PLAINTEXT = Buffer.from('a value under test');
const keyOf = () => KEY;

function sealedCompact(timestamp: number, purpose?: EnvelopePurpose, aad?: Buffer): string {
  return formatCompactEnvelope(sealEnvelope(KEY, 'dk_1', PLAINTEXT, aad, timestamp, purpose));
}

/** `compact` with its timestamp field (the one after the key id) written as `text`. */
function withTimestamp(compact: string, text: string, purpose?: EnvelopePurpose): string {
  const fields = compact.split('.');
  fields[purpose === undefined ? 2 : 3] = text;
  return fields.join('.');
}

/** Whether the parser refuses `envelope` as malformed, and whether the fast path refuses it. */
function refusals(envelope: string, purpose?: EnvelopePurpose, aad?: Buffer): [boolean, boolean] {
  let malformed = false;
  try {
    parseEnvelope(envelope, purpose);
  } catch (error) {
    malformed = error instanceof MalformedEnvelopeError;
  }
  return [malformed, openUsualEnvelope(envelope, purpose, keyOf, aad) === undefined];
}
const BOTH_REFUSE = [true, true];

describe('openUsualEnvelope, compact form', () => {
  const TIMESTAMP = 1_764_288_000_000;
  const AAD = encodeAad({ userId: 'u-1' });

  it('opens what was sealed, with and without AAD, v1 and v2 (the control for the refusals)', () => {
    expect(openUsualEnvelope(sealedCompact(TIMESTAMP), undefined, keyOf, undefined)).toEqual(
      PLAINTEXT,
    );
    expect(
      openUsualEnvelope(sealedCompact(TIMESTAMP, undefined, AAD), undefined, keyOf, AAD),
    ).toEqual(PLAINTEXT);
    expect(
      openUsualEnvelope(sealedCompact(TIMESTAMP, 'secret'), 'secret', keyOf, undefined),
    ).toEqual(PLAINTEXT);
    expect(openUsualEnvelope(sealedCompact(0), undefined, keyOf, undefined)).toEqual(PLAINTEXT);
    const largest = sealedCompact(Number.MAX_SAFE_INTEGER);
    expect(openUsualEnvelope(largest, undefined, keyOf, undefined)).toEqual(PLAINTEXT);
  });

  it.each([
    ['a leading zero', `0${TIMESTAMP}`],
    ['a plus sign', `+${TIMESTAMP}`],
    ['a leading space', ` ${TIMESTAMP}`],
    ['a trailing space', `${TIMESTAMP} `],
    ['exponent form', '1764288e6'],
    ['hex form', `0x${TIMESTAMP.toString(16)}`],
    ['no digits', ''],
  ])('refuses a timestamp written with %s, as parseEnvelope does', (_, text) => {
    expect(refusals(withTimestamp(sealedCompact(TIMESTAMP), text))).toEqual(BOTH_REFUSE);
    expect(
      refusals(withTimestamp(sealedCompact(TIMESTAMP, 'secret'), text, 'secret'), 'secret'),
    ).toEqual(BOTH_REFUSE);
  });

  it('refuses "00" and a 0 with leading zeros for an envelope sealed at 0', () => {
    expect(refusals(withTimestamp(sealedCompact(0), '00'))).toEqual(BOTH_REFUSE);
    expect(refusals(withTimestamp(sealedCompact(0), '0000000000000000'))).toEqual(BOTH_REFUSE);
  });

  it('refuses timestamps past 2^53 that round to the sealed one', () => {
    const sealed = sealedCompact(2 ** 53);
    // 2^53 itself is not a safe integer: refused by both, though its tag would verify.
    expect(refusals(sealed)).toEqual(BOTH_REFUSE);
    // 2^53 + 1 rounds to 2^53 as a double.
    expect(refusals(withTimestamp(sealed, '9007199254740993'))).toEqual(BOTH_REFUSE);
    // Seventeen digits.
    expect(refusals(withTimestamp(sealedCompact(TIMESTAMP), `0000${TIMESTAMP}`))).toEqual(
      BOTH_REFUSE,
    );
  });

  it('refuses a field more or less, and a prefix or purpose not its own', () => {
    const compact = sealedCompact(TIMESTAMP, undefined, AAD);
    expect(refusals(`${compact}.QQ`, undefined, AAD)).toEqual(BOTH_REFUSE);
    // Without its AAD field it parses, but opens under no AAD: the header no longer matches.
    const withoutAad = compact.slice(0, compact.lastIndexOf('.'));
    expect(openUsualEnvelope(withoutAad, undefined, keyOf, AAD)).toBeUndefined();
    expect(openUsualEnvelope(withoutAad, undefined, keyOf, undefined)).toBeUndefined();
    expect(refusals(`kms1${compact}`, undefined, AAD)).toEqual(BOTH_REFUSE);
    expect(refusals(compact.replace(/^kms1\./, 'kms1..'), undefined, AAD)).toEqual(BOTH_REFUSE);
    const secret = sealedCompact(TIMESTAMP, 'secret');
    expect(openUsualEnvelope(secret, 'column', keyOf, undefined)).toBeUndefined();
    expect(openUsualEnvelope(secret, undefined, keyOf, undefined)).toBeUndefined();
    expect(refusals(secret.replace('kms2.secret.', 'kms2.secrets.'), 'secret')).toEqual(
      BOTH_REFUSE,
    );
    expect(refusals(secret.replace('kms2.secret.', 'kms2.secret'), 'secret')).toEqual(BOTH_REFUSE);
    expect(refusals(secret.replace('kms2.secret.', 'kms2.'), 'secret')).toEqual(BOTH_REFUSE);
  });
});
