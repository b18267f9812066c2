import { EnvelopePurposeError } from '../errors/envelope-purpose.error.js';
import { InvalidInputError } from '../errors/invalid-input.error.js';
import { MalformedEnvelopeError } from '../errors/malformed-envelope.error.js';
import { QUOTED_INPUT_MAX_CHARS } from '../errors/quoted-input.js';
import { aadEquals, encodeAad } from './aad.js';
import {
  formatCompactEnvelope,
  formatEnvelope,
  parseCompactEnvelope,
  parseEnvelope,
} from './envelope-codec.js';
import { fromCompactEnvelope, toCompactEnvelope, validateEnvelope } from './envelope-conversion.js';
import { MAX_AAD_BYTES, MAX_PLAINTEXT_BYTES } from './envelope.constants.js';
import type { AadInput, EnvelopeV1, ParsedEnvelope } from './envelope.interface.js';

/* A fixed, valid envelope. Its byte lengths are chosen so the base64 forms exercise the edge
 * cases: the IV encodes with '+' and '/', the 16-byte tag and the 20-byte ciphertext and 35-byte
 * AAD end in padding bits. */
const IV = Buffer.from('fbfffbfffbfffbfffbfffbff', 'hex');
const TAG = Buffer.from('5e1d0a3c9b27f4e86d10c3a2b7f905ce', 'hex');
const CIPHERTEXT = Buffer.from('9f3ab27c44e10d5b8e61f2a790c3d4185be6f017', 'hex');
const AAD = encodeAad({ tenant: 'acme', field: 'ssn' });
const PARTS: ParsedEnvelope = {
  purpose: undefined,
  keyId: 'dk_2026-11-28',
  timestamp: 1_764_288_000_000,
  iv: IV,
  tag: TAG,
  ciphertext: CIPHERTEXT,
  aad: AAD,
};
const NO_AAD: ParsedEnvelope = { ...PARTS, aad: undefined };
const VALID: EnvelopeV1 = formatEnvelope(PARTS);
const VALID_COMPACT = formatCompactEnvelope(PARTS);

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Changes the lowest (padding) bit of the last data character: different text, same bytes. */
function flipPaddingBit(text: string, encoding: 'base64' | 'base64url'): string {
  const alphabet = encoding === 'base64' ? BASE64 : BASE64URL;
  const data = text.replace(/=+$/, '');
  const last = data.length - 1;
  const mutated = data.slice(0, last) + alphabet[alphabet.indexOf(data[last]) ^ 1];
  return mutated + text.slice(data.length);
}

function withField(name: string, value: unknown): Record<string, unknown> {
  return { ...VALID, [name]: value };
}

function without(name: keyof EnvelopeV1): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...VALID };
  delete copy[name];
  return copy;
}

/** The compact form with part `index` (0 prefix, 1 keyId, 2 timestamp, 3 iv, 4 tag, 5 ct, 6 aad) replaced. */
function compactWith(index: number, value: string): string {
  const parts = VALID_COMPACT.split('.');
  parts[index] = value;
  return parts.join('.');
}

/** True when `text` contains `secret` or any 6-character piece of it. */
function leaks(text: string, secret: string): boolean {
  if (secret.length <= 6) return secret.length > 0 && text.includes(secret);
  for (let at = 0; at + 6 <= secret.length; at++) {
    if (text.includes(secret.slice(at, at + 6))) return true;
  }
  return false;
}

function parseError(input: unknown): MalformedEnvelopeError {
  try {
    parseEnvelope(input);
  } catch (error) {
    expect(error).toBeInstanceOf(MalformedEnvelopeError);
    return error as MalformedEnvelopeError;
  }
  throw new Error('expected MalformedEnvelopeError, but the envelope was accepted');
}

interface MalformedCase {
  name: string;
  input: unknown;
  field: string;
  /** The offending value when it is secret-like: no piece of it may reach the error. */
  secret?: string;
  /** How the problem starts, where it matters which check catches the value. */
  problem?: string;
}

const CANONICAL = 'must be canonical';
const TOO_LONG = 'is too long';

const paddingBitTag = flipPaddingBit(VALID.tag, 'base64');
const paddingBitCiphertext = flipPaddingBit(VALID.ciphertext, 'base64');
const paddingBitAad = flipPaddingBit(VALID.aad!, 'base64');
const compactTag = TAG.toString('base64url');
const compactCiphertext = CIPHERTEXT.toString('base64url');
const compactAad = AAD.toString('base64url');

const MALFORMED: MalformedCase[] = [
  // Not an envelope at all.
  { name: 'undefined', input: undefined, field: 'envelope' },
  { name: 'null', input: null, field: 'envelope' },
  { name: 'a number', input: 42, field: 'envelope' },
  { name: 'a boolean', input: true, field: 'envelope' },
  { name: 'a bigint', input: 1n, field: 'envelope' },
  { name: 'a function', input: () => VALID, field: 'envelope' },
  { name: 'an array', input: [VALID], field: 'envelope' },
  { name: 'an empty array', input: [], field: 'envelope' },
  { name: 'a Buffer', input: Buffer.from(JSON.stringify(VALID)), field: 'envelope' },
  { name: 'JSON text of a valid envelope', input: JSON.stringify(VALID), field: 'envelope' },
  { name: 'an empty object', input: {}, field: 'v' },
  // Unknown fields: the name may be echoed (truncated), the value never.
  {
    name: 'an unknown field',
    input: withField('plaintext', 'hunter2-do-not-echo'),
    field: 'envelope',
    secret: 'hunter2-do-not-echo',
  },
  { name: 'a field named like a known one', input: withField('keyID', 'x'), field: 'envelope' },
  { name: 'a __proto__ own field', input: JSON.parse('{"__proto__":{"v":1}}'), field: 'envelope' },
  // v and alg.
  { name: 'v missing', input: without('v'), field: 'v' },
  { name: 'v = 2', input: withField('v', 2), field: 'v' },
  { name: 'v = 0', input: withField('v', 0), field: 'v' },
  { name: 'v = "1"', input: withField('v', '1'), field: 'v' },
  { name: 'v = null', input: withField('v', null), field: 'v' },
  { name: 'v = 1n', input: withField('v', 1n), field: 'v' },
  { name: 'alg missing', input: without('alg'), field: 'alg' },
  { name: 'alg = aes-128-gcm', input: withField('alg', 'aes-128-gcm'), field: 'alg' },
  { name: 'alg in capitals', input: withField('alg', 'AES-256-GCM'), field: 'alg' },
  { name: 'alg with a trailing space', input: withField('alg', 'aes-256-gcm '), field: 'alg' },
  { name: 'alg = 1', input: withField('alg', 1), field: 'alg' },
  // keyId.
  { name: 'keyId missing', input: without('keyId'), field: 'keyId' },
  { name: 'keyId a number', input: withField('keyId', 7), field: 'keyId' },
  { name: 'keyId null', input: withField('keyId', null), field: 'keyId' },
  { name: 'keyId empty', input: withField('keyId', ''), field: 'keyId' },
  { name: 'keyId of 65 characters', input: withField('keyId', 'k'.repeat(65)), field: 'keyId' },
  { name: 'keyId with a space', input: withField('keyId', 'dk 1'), field: 'keyId' },
  { name: 'keyId with a dot', input: withField('keyId', 'dk.1'), field: 'keyId' },
  { name: 'keyId with a slash', input: withField('keyId', 'dk/1'), field: 'keyId' },
  { name: 'keyId with a newline', input: withField('keyId', 'dk1\n'), field: 'keyId' },
  { name: 'keyId with a non-ASCII letter', input: withField('keyId', 'clé'), field: 'keyId' },
  { name: 'keyId with a NUL', input: withField('keyId', 'dk\u00001'), field: 'keyId' },
  // timestamp.
  { name: 'timestamp missing', input: without('timestamp'), field: 'timestamp' },
  { name: 'timestamp negative', input: withField('timestamp', -1), field: 'timestamp' },
  { name: 'timestamp a float', input: withField('timestamp', 1.5), field: 'timestamp' },
  {
    name: 'timestamp a string',
    input: withField('timestamp', '1764288000000'),
    field: 'timestamp',
  },
  { name: 'timestamp 2^53 (unsafe)', input: withField('timestamp', 2 ** 53), field: 'timestamp' },
  { name: 'timestamp NaN', input: withField('timestamp', Number.NaN), field: 'timestamp' },
  { name: 'timestamp Infinity', input: withField('timestamp', Infinity), field: 'timestamp' },
  { name: 'timestamp a bigint', input: withField('timestamp', 1n), field: 'timestamp' },
  { name: 'timestamp null', input: withField('timestamp', null), field: 'timestamp' },
  { name: 'timestamp a Date', input: withField('timestamp', new Date(0)), field: 'timestamp' },
  // iv.
  { name: 'iv missing', input: without('iv'), field: 'iv' },
  { name: 'iv a number', input: withField('iv', 12), field: 'iv' },
  { name: 'iv a Buffer', input: withField('iv', IV), field: 'iv' },
  { name: 'iv empty', input: withField('iv', ''), field: 'iv' },
  {
    name: 'iv of 11 bytes',
    input: withField('iv', IV.subarray(0, 11).toString('base64')),
    field: 'iv',
  },
  {
    name: 'iv of 13 bytes',
    input: withField('iv', Buffer.concat([IV, Buffer.of(1)]).toString('base64')),
    field: 'iv',
  },
  {
    name: 'iv in base64url',
    input: withField('iv', IV.toString('base64url')),
    field: 'iv',
    problem: CANONICAL,
  },
  { name: 'iv with a trailing "="', input: withField('iv', `${VALID.iv}=`), field: 'iv' },
  {
    name: 'iv of 17 characters',
    input: withField('iv', `${VALID.iv}A`),
    field: 'iv',
    problem: TOO_LONG,
  },
  {
    name: 'iv with a space for a character',
    input: withField('iv', ` ${VALID.iv.slice(1)}`),
    field: 'iv',
    problem: CANONICAL,
  },
  {
    name: 'iv with a newline for a character',
    input: withField('iv', `${VALID.iv.slice(0, 8)}\n${VALID.iv.slice(9)}`),
    field: 'iv',
    problem: CANONICAL,
  },
  {
    name: 'iv with "*"',
    input: withField('iv', `*${VALID.iv.slice(1)}`),
    field: 'iv',
    problem: CANONICAL,
  },
  {
    name: 'iv with a non-ASCII character',
    input: withField('iv', `é${VALID.iv.slice(1)}`),
    field: 'iv',
    problem: CANONICAL,
  },
  // tag.
  { name: 'tag missing', input: without('tag'), field: 'tag' },
  { name: 'tag an array', input: withField('tag', [...TAG]), field: 'tag' },
  {
    name: 'tag of 15 bytes',
    input: withField('tag', TAG.subarray(0, 15).toString('base64')),
    field: 'tag',
    secret: TAG.subarray(0, 15).toString('base64'),
  },
  {
    name: 'tag of 17 bytes',
    input: withField('tag', Buffer.concat([TAG, Buffer.of(0)]).toString('base64')),
    field: 'tag',
  },
  {
    name: 'tag with a padding bit set',
    input: withField('tag', paddingBitTag),
    field: 'tag',
    problem: CANONICAL,
    secret: paddingBitTag,
  },
  {
    name: 'tag without its padding',
    input: withField('tag', VALID.tag.replace(/=+$/, '')),
    field: 'tag',
    problem: CANONICAL,
  },
  { name: 'tag with extra padding', input: withField('tag', `${VALID.tag}=`), field: 'tag' },
  {
    name: 'tag with "!"',
    input: withField('tag', `!${VALID.tag.slice(1)}`),
    field: 'tag',
    problem: CANONICAL,
  },
  // ciphertext: secret-like, never echoed.
  { name: 'ciphertext missing', input: without('ciphertext'), field: 'ciphertext' },
  { name: 'ciphertext a number', input: withField('ciphertext', 1234), field: 'ciphertext' },
  { name: 'ciphertext null', input: withField('ciphertext', null), field: 'ciphertext' },
  { name: 'ciphertext a Buffer', input: withField('ciphertext', CIPHERTEXT), field: 'ciphertext' },
  {
    name: 'ciphertext with a padding bit set',
    input: withField('ciphertext', paddingBitCiphertext),
    field: 'ciphertext',
    problem: CANONICAL,
    secret: paddingBitCiphertext,
  },
  {
    name: 'ciphertext in base64url',
    input: withField('ciphertext', `${CIPHERTEXT.toString('base64url')}_-`),
    field: 'ciphertext',
    problem: CANONICAL,
    secret: `${CIPHERTEXT.toString('base64url')}_-`,
  },
  {
    name: 'ciphertext with whitespace',
    input: withField(
      'ciphertext',
      `${VALID.ciphertext.slice(0, 12)} ${VALID.ciphertext.slice(12)}`,
    ),
    field: 'ciphertext',
    problem: CANONICAL,
    secret: VALID.ciphertext,
  },
  {
    name: 'ciphertext with a "%" character',
    input: withField('ciphertext', `%${VALID.ciphertext}`),
    field: 'ciphertext',
    problem: CANONICAL,
    secret: VALID.ciphertext,
  },
  {
    name: 'ciphertext with a dangling character Node would drop',
    input: withField('ciphertext', `${CIPHERTEXT.subarray(0, 18).toString('base64')}Q`),
    field: 'ciphertext',
    problem: CANONICAL,
    secret: CIPHERTEXT.subarray(0, 18).toString('base64'),
  },
  // aad: present means non-empty canonical base64.
  { name: 'aad empty', input: withField('aad', ''), field: 'aad' },
  { name: 'aad null', input: withField('aad', null), field: 'aad' },
  { name: 'aad an object', input: withField('aad', { tenant: 'acme' }), field: 'aad' },
  {
    name: 'aad with a padding bit set',
    input: withField('aad', paddingBitAad),
    field: 'aad',
    problem: CANONICAL,
    secret: paddingBitAad,
  },
  {
    name: 'aad without its padding',
    input: withField('aad', VALID.aad!.replace(/=+$/, '')),
    field: 'aad',
    problem: CANONICAL,
    secret: VALID.aad,
  },
  {
    name: 'aad longer than the encoded limit',
    input: withField('aad', 'QUFB'.repeat(2732)),
    field: 'aad',
    problem: TOO_LONG,
  },
  // Compact form.
  { name: 'an empty string', input: '', field: 'envelope' },
  {
    name: 'compact with 5 parts',
    input: VALID_COMPACT.split('.').slice(0, 5).join('.'),
    field: 'envelope',
  },
  { name: 'compact with 8 parts', input: `${VALID_COMPACT}.QQ`, field: 'envelope' },
  { name: 'compact prefix kms3', input: compactWith(0, 'kms3'), field: 'v' },
  {
    name: 'compact kms2 with an unknown purpose',
    input: VALID_COMPACT.replace('kms1.', 'kms2.backup.'),
    field: 'purpose',
  },
  {
    name: 'compact kms2 without a purpose part',
    input: compactWith(0, 'kms2'),
    field: 'purpose',
  },
  { name: 'compact prefix KMS1', input: compactWith(0, 'KMS1'), field: 'v' },
  { name: 'compact prefix empty', input: compactWith(0, ''), field: 'v' },
  { name: 'compact keyId empty', input: compactWith(1, ''), field: 'keyId' },
  { name: 'compact keyId of 65 characters', input: compactWith(1, 'k'.repeat(65)), field: 'keyId' },
  { name: 'compact keyId with "+"', input: compactWith(1, 'dk+1'), field: 'keyId' },
  {
    name: 'compact timestamp with a leading zero',
    input: compactWith(2, '01764288000000'),
    field: 'timestamp',
  },
  { name: 'compact timestamp "00"', input: compactWith(2, '00'), field: 'timestamp' },
  { name: 'compact timestamp empty', input: compactWith(2, ''), field: 'timestamp' },
  { name: 'compact timestamp negative', input: compactWith(2, '-1'), field: 'timestamp' },
  {
    name: 'compact timestamp with a sign',
    input: compactWith(2, '+1764288000000'),
    field: 'timestamp',
  },
  {
    name: 'compact timestamp a float',
    input: compactWith(2, '1764288000000,5'),
    field: 'timestamp',
  },
  { name: 'compact timestamp in exponent form', input: compactWith(2, '1e12'), field: 'timestamp' },
  { name: 'compact timestamp in hex', input: compactWith(2, '0x10'), field: 'timestamp' },
  {
    name: 'compact timestamp with a space',
    input: compactWith(2, ' 1764288000000'),
    field: 'timestamp',
  },
  {
    name: 'compact timestamp 2^53 (unsafe)',
    input: compactWith(2, '9007199254740992'),
    field: 'timestamp',
  },
  {
    name: 'compact timestamp of 17 digits',
    input: compactWith(2, '10000000000000000'),
    field: 'timestamp',
  },
  {
    name: 'compact iv in standard base64',
    input: compactWith(3, IV.toString('base64')),
    field: 'iv',
    problem: CANONICAL,
  },
  {
    name: 'compact iv of 11 bytes',
    input: compactWith(3, IV.subarray(1).toString('base64url')),
    field: 'iv',
  },
  { name: 'compact iv empty', input: compactWith(3, ''), field: 'iv' },
  {
    name: 'compact tag with "=" padding',
    input: compactWith(4, `${compactTag}==`),
    field: 'tag',
    problem: CANONICAL,
  },
  {
    name: 'compact tag with a padding bit set',
    input: compactWith(4, flipPaddingBit(compactTag, 'base64url')),
    field: 'tag',
    problem: CANONICAL,
  },
  {
    name: 'compact ciphertext with a padding bit set',
    input: compactWith(5, flipPaddingBit(compactCiphertext, 'base64url')),
    field: 'ciphertext',
    problem: CANONICAL,
    secret: compactCiphertext,
  },
  {
    name: 'compact ciphertext in standard base64',
    input: compactWith(5, `${compactCiphertext}+/`),
    field: 'ciphertext',
    problem: CANONICAL,
    secret: compactCiphertext,
  },
  {
    name: 'compact aad empty (trailing dot)',
    input: `${formatCompactEnvelope(NO_AAD)}.`,
    field: 'aad',
  },
  {
    name: 'compact aad with a padding bit set',
    input: compactWith(6, flipPaddingBit(compactAad, 'base64url')),
    field: 'aad',
    problem: CANONICAL,
    secret: compactAad,
  },
  {
    name: 'compact aad with "=" padding',
    input: compactWith(6, `${compactAad}=`),
    field: 'aad',
    problem: CANONICAL,
    secret: compactAad,
  },
];

describe('parseEnvelope', () => {
  it('accepts the valid fixture in both forms (the control for every rejection below)', () => {
    expect(parseEnvelope(VALID)).toEqual(PARTS);
    expect(parseEnvelope(VALID_COMPACT)).toEqual(PARTS);
    expect(parseCompactEnvelope(VALID_COMPACT)).toEqual(PARTS);
    expect(parseEnvelope(JSON.parse(JSON.stringify(VALID)))).toEqual(PARTS);
    expect(VALID.iv).toMatch(/[+/]/);
    expect(VALID_COMPACT.split('.')[3]).toMatch(/[-_]/);
  });

  it('the padding-bit mutants decode to the same bytes as the originals (so only canonicality can catch them)', () => {
    for (const [mutant, original] of [
      [paddingBitTag, VALID.tag],
      [paddingBitCiphertext, VALID.ciphertext],
      [paddingBitAad, VALID.aad!],
    ]) {
      expect(mutant).not.toBe(original);
      expect(Buffer.from(mutant, 'base64').equals(Buffer.from(original, 'base64'))).toBe(true);
    }
  });

  it.each(MALFORMED)('rejects $name: MalformedEnvelopeError on field $field', (c) => {
    const error = parseError(c.input);
    expect(error.field).toBe(c.field);
    expect(error.code).toBe('KMS_MALFORMED_ENVELOPE');
    expect(error.message).toBe(`Malformed envelope: ${c.field} ${error.problem}`);
    if (c.problem !== undefined) expect(error.problem.startsWith(c.problem)).toBe(true);
    if (c.secret !== undefined) {
      for (const text of [error.message, error.problem, String(error), JSON.stringify(error)]) {
        expect(leaks(text, c.secret), `error text "${text}" leaks the offending value`).toBe(false);
      }
    }
  });

  it('names an unknown field bounded and escaped', () => {
    const name = `${'n'.repeat(QUOTED_INPUT_MAX_CHARS)}SECRET-TAIL`;
    const error = parseError(withField(name, 'v'));
    expect(error.message).toContain('n'.repeat(QUOTED_INPUT_MAX_CHARS));
    expect(error.message).not.toContain('SECRET');
    const control = parseError(withField('a\u0000b\nc\u001b[31m', 'v'));
    expect(control.message).toContain('"a\\u0000b\\nc\\u001b[31m"');
  });

  describe('refuses an object whose fields are not what JSON would give', () => {
    class EnvelopeLike {
      constructor(fields: EnvelopeV1) {
        Object.assign(this, fields);
      }
    }
    const hidden = (name: string, value: unknown) => {
      const envelope: Record<string, unknown> = { ...VALID };
      Object.defineProperty(envelope, name, { value, enumerable: false });
      return envelope;
    };
    const getter = (name: keyof EnvelopeV1) => {
      const envelope: Record<string, unknown> = { ...VALID };
      Object.defineProperty(envelope, name, { get: () => VALID[name], enumerable: true });
      return envelope;
    };
    it.each([
      ['fields inherited through the prototype', Object.create(VALID) as unknown, 'envelope'],
      ['a class instance', new EnvelopeLike(VALID), 'envelope'],
      ['a symbol-keyed extra property', { ...VALID, [Symbol('x')]: 1 }, 'envelope'],
      ['a non-enumerable extra property', hidden('extra', 1), 'envelope'],
      ['a non-enumerable known field', hidden('keyId', VALID.keyId), 'keyId'],
      ['a getter for a field', getter('iv'), 'iv'],
      [
        'an own __proto__ key (as JSON.parse makes it)',
        JSON.parse(`{"__proto__":{},${JSON.stringify(VALID).slice(1)}`) as unknown,
        'envelope',
      ],
    ])('%s', (_, input, field) => {
      expect(parseError(input).field).toBe(field);
    });

    it('accepts a null-prototype object with the same fields', () => {
      const bare = Object.assign(Object.create(null) as object, VALID);
      expect(formatEnvelope(parseEnvelope(bare))).toEqual(VALID);
    });
  });

  describe('purposes', () => {
    const SECRET_PARTS: ParsedEnvelope = { ...PARTS, purpose: 'secret' };
    const SECRET_COMPACT = formatCompactEnvelope(SECRET_PARTS);

    it('a store envelope is kms2.<purpose>.… and parses back exactly for its purpose', () => {
      expect(SECRET_COMPACT.startsWith('kms2.secret.dk_2026-11-28.')).toBe(true);
      expect(formatCompactEnvelope(parseEnvelope(SECRET_COMPACT, 'secret'))).toBe(SECRET_COMPACT);
      expect(parseEnvelope(SECRET_COMPACT, 'secret').purpose).toBe('secret');
    });

    it.each([
      [undefined, 'secret'],
      ['column', 'secret'],
    ] as const)('opened as %s, a %s envelope is EnvelopePurposeError', (openedAs, sealedFor) => {
      const compact = formatCompactEnvelope({ ...PARTS, purpose: sealedFor });
      let error: unknown;
      try {
        parseEnvelope(compact, openedAs);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(EnvelopePurposeError);
      expect(error).toMatchObject({
        code: 'KMS_ENVELOPE_PURPOSE_MISMATCH',
        expected: openedAs,
        actual: sealedFor,
      });
    });

    it("a format-v1 envelope parses for a store too (whether the store accepts it is not the codec's call)", () => {
      expect(parseEnvelope(VALID_COMPACT, 'secret').purpose).toBeUndefined();
    });

    it('store envelopes have no object form', () => {
      expect(() => formatEnvelope(SECRET_PARTS)).toThrow(EnvelopePurposeError);
      expect(parseError({ ...VALID, v: 2 }).field).toBe('v');
      expect(() => fromCompactEnvelope(SECRET_COMPACT)).toThrow(EnvelopePurposeError);
    });
  });

  it('rejects a ciphertext longer than the 64 MiB plaintext limit allows, before decoding it', () => {
    const longest = Math.ceil(MAX_PLAINTEXT_BYTES / 3) * 4;
    const huge = 'A'.repeat(longest + 4);
    const objectError = parseError(withField('ciphertext', huge));
    expect([objectError.field, objectError.problem]).toEqual(['ciphertext', 'is too long']);
    const compactError = parseError(compactWith(5, huge));
    expect([compactError.field, compactError.problem]).toEqual(['ciphertext', 'is too long']);
  });

  it('rejects an aad one byte past its limit, though its base64 fits the character bound', () => {
    const over = { ...PARTS, aad: Buffer.alloc(MAX_AAD_BYTES + 1, 7) };
    for (const form of [formatEnvelope(over), formatCompactEnvelope(over)]) {
      const error = parseError(form);
      expect([error.field, error.problem]).toEqual([
        'aad',
        `decodes to more than ${MAX_AAD_BYTES} bytes`,
      ]);
    }
    expect(
      parseEnvelope(formatEnvelope({ ...PARTS, aad: Buffer.alloc(MAX_AAD_BYTES, 7) })).aad,
    ).toHaveLength(MAX_AAD_BYTES);
  });

  it('accepts the edges of every field', () => {
    const edges: ParsedEnvelope[] = [
      { ...PARTS, keyId: 'K'.repeat(64) },
      { ...PARTS, keyId: '-' },
      { ...PARTS, keyId: 'Az09_-' },
      { ...PARTS, timestamp: 0 },
      { ...PARTS, timestamp: Number.MAX_SAFE_INTEGER },
      { ...PARTS, ciphertext: Buffer.alloc(0) },
      { ...NO_AAD, ciphertext: Buffer.alloc(0) },
      { ...PARTS, aad: Buffer.of(0) },
      { ...PARTS, aad: encodeAad('a'.repeat(MAX_AAD_BYTES - 1)) },
    ];
    for (const parts of edges) {
      expect(parseEnvelope(formatEnvelope(parts))).toEqual(parts);
      expect(parseEnvelope(formatCompactEnvelope(parts))).toEqual(parts);
    }
  });

  it('treats an absent aad and aad: undefined alike, and keeps an empty ciphertext', () => {
    expect(parseEnvelope({ ...formatEnvelope(NO_AAD), aad: undefined })).toEqual(NO_AAD);
    const empty = formatEnvelope({ ...PARTS, ciphertext: Buffer.alloc(0) });
    expect(empty.ciphertext).toBe('');
    expect(parseEnvelope(empty).ciphertext).toHaveLength(0);
  });
});

describe('formatEnvelope / formatCompactEnvelope round trips', () => {
  const shapes: [string, ParsedEnvelope][] = [
    ['with aad', PARTS],
    ['without aad', NO_AAD],
    ['with an empty ciphertext', { ...PARTS, ciphertext: Buffer.alloc(0) }],
    ['with an empty ciphertext and no aad', { ...NO_AAD, ciphertext: Buffer.alloc(0) }],
    ['at timestamp 0', { ...PARTS, timestamp: 0 }],
  ];

  it.each(shapes)('%s: the design shape, base64 fields', (_, parts) => {
    const envelope = formatEnvelope(parts);
    expect(envelope).toEqual({
      v: 1,
      alg: 'aes-256-gcm',
      keyId: parts.keyId,
      iv: parts.iv.toString('base64'),
      tag: parts.tag.toString('base64'),
      ciphertext: parts.ciphertext.toString('base64'),
      timestamp: parts.timestamp,
      ...(parts.aad === undefined ? {} : { aad: parts.aad.toString('base64') }),
    });
    expect('aad' in envelope).toBe(parts.aad !== undefined);
  });

  it.each(shapes)('%s: object -> compact -> object is deep-equal', (_, parts) => {
    const object = formatEnvelope(parts);
    const compact = formatCompactEnvelope(parseEnvelope(object));
    expect(compact.startsWith('kms1.')).toBe(true);
    expect(compact.split('.')).toHaveLength(parts.aad === undefined ? 6 : 7);
    expect(formatEnvelope(parseEnvelope(compact))).toEqual(object);
    expect(fromCompactEnvelope(toCompactEnvelope(object))).toEqual(object);
  });

  it.each(shapes)('%s: compact -> object -> compact is identical', (_, parts) => {
    const compact = formatCompactEnvelope(parts);
    const object = formatEnvelope(parseCompactEnvelope(compact));
    expect(formatCompactEnvelope(parseEnvelope(object))).toBe(compact);
    expect(toCompactEnvelope(fromCompactEnvelope(compact))).toBe(compact);
    expect(formatCompactEnvelope(parseEnvelope(JSON.parse(JSON.stringify(object))))).toBe(compact);
  });

  it('validateEnvelope returns a fresh, equal envelope object for either form', () => {
    expect(validateEnvelope(VALID)).toEqual(VALID);
    expect(validateEnvelope(VALID)).not.toBe(VALID);
    expect(validateEnvelope(VALID_COMPACT)).toEqual(VALID);
  });

  it('the compact form carries only URL- and column-safe characters', () => {
    expect(VALID_COMPACT).toMatch(/^kms1\.[A-Za-z0-9_-]+\.[0-9]+(\.[A-Za-z0-9_-]*){3,4}$/);
  });
});

describe('encodeAad', () => {
  const invalid = (aad: unknown): InvalidInputError => {
    try {
      encodeAad(aad as AadInput);
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidInputError);
      expect((error as InvalidInputError).field).toBe('aad');
      return error as InvalidInputError;
    }
    throw new Error('expected InvalidInputError, but the AAD was encoded');
  };

  it('never encodes a string and a map alike', () => {
    const pairs: [AadInput, AadInput][] = [
      ['a', { a: '' }],
      ['a', { a: 'a' }],
      ['', {}],
      ['{"a":"b"}', { a: 'b' }],
      ['a=b', { a: 'b' }],
      // A string whose UTF-8 is exactly the map's encoding after its type byte.
      ['\u0000\u0000\u0000\u0001a\u0000\u0000\u0000\u0001b', { a: 'b' }],
      ['\u0002\u0000\u0000\u0000\u0001a\u0000\u0000\u0000\u0001b', { a: 'b' }],
    ];
    for (const [text, map] of pairs) {
      expect(encodeAad(text).equals(encodeAad(map))).toBe(false);
    }
  });

  it('separates map entries unambiguously', () => {
    const distinct: AadInput[] = [
      {},
      { a: '' },
      { ab: 'c' },
      { a: 'bc' },
      { a: 'b', c: 'd' },
      { a: 'bc', '': 'd' },
      { 'a\u0000b': 'c' },
    ];
    const encodings = new Set(distinct.map((aad) => encodeAad(aad).toString('hex')));
    expect(encodings.size).toBe(distinct.length);
  });

  it('ignores map key order', () => {
    const one = encodeAad({ tenant: 'acme', field: 'ssn', region: 'eu' });
    expect(encodeAad({ region: 'eu', field: 'ssn', tenant: 'acme' }).equals(one)).toBe(true);
    expect(encodeAad({ field: 'ssn', tenant: 'acme', region: 'eu' }).equals(one)).toBe(true);
  });

  it('encodes strings as UTF-8 after a type byte', () => {
    expect(encodeAad('user-42').equals(Buffer.from('\u0001user-42', 'utf8'))).toBe(true);
    expect(encodeAad('ключ🔑').equals(Buffer.concat([Buffer.of(1), Buffer.from('ключ🔑')]))).toBe(
      true,
    );
    expect(encodeAad({ a: 'b' }).toString('hex')).toBe('02000000016100000001' + '62');
  });

  it.each([
    ['null', null],
    ['a number', 42],
    ['a boolean', true],
    ['an array', ['a']],
    ['a Buffer', Buffer.from('a')],
  ])('rejects %s as AAD with InvalidInputError', (_, aad) => {
    // A Buffer is an object with index keys whose values are numbers: rejected as a map.
    invalid(aad);
  });

  it.each([
    ['a number', { a: 1 }],
    ['null', { a: null }],
    ['undefined', { a: undefined }],
    ['an object', { a: {} }],
    ['an array', { a: ['x'] }],
    ['a boolean', { a: false }],
  ])('rejects a map value that is %s with InvalidInputError', (_, aad) => {
    expect(invalid(aad).problem).toBe('value of "a" must be a string');
  });

  it.each([
    ['a lone high surrogate string', '\uD800'],
    ['a lone low surrogate inside a string', 'a\uDC00b'],
    ['reversed surrogates', '\uDE00\uD83D'],
    ['a lone surrogate in a map value', { tenant: 'acme\uD83D' }],
    ['a lone surrogate in a map key', { '\uDE00': 'x' }],
  ])('rejects %s with InvalidInputError', (_, aad) => {
    expect(invalid(aad).problem).toBe('contains a lone UTF-16 surrogate');
  });

  it('accepts paired surrogates (emoji) in strings and maps', () => {
    expect(encodeAad('🔑').subarray(1).toString('utf8')).toBe('🔑');
    expect(() => encodeAad({ '🗝️': '👩‍👩‍👧' })).not.toThrow();
  });

  it(`enforces the ${MAX_AAD_BYTES}-byte limit on the encoding, counting UTF-8 bytes`, () => {
    expect(encodeAad('a'.repeat(MAX_AAD_BYTES - 1))).toHaveLength(MAX_AAD_BYTES);
    invalid('a'.repeat(MAX_AAD_BYTES));
    // '€' is 3 bytes: 2730 of them encode to 8191 bytes, 2731 to 8194.
    expect(encodeAad('€'.repeat(2730))).toHaveLength(8191);
    expect(invalid('€'.repeat(2731)).problem).toBe(`encodes to more than ${MAX_AAD_BYTES} bytes`);
    // A map: type byte + (4 + 1) for key "k" + 4 + value.
    const room = MAX_AAD_BYTES - 1 - 5 - 4;
    expect(encodeAad({ k: 'v'.repeat(room) })).toHaveLength(MAX_AAD_BYTES);
    invalid({ k: 'v'.repeat(room + 1) });
  });
});

describe('aadEquals', () => {
  const stored = encodeAad({ tenant: 'acme', field: 'ssn' });

  it('is true for the same encoding, whatever the map order it came from', () => {
    expect(aadEquals(stored, encodeAad({ field: 'ssn', tenant: 'acme' }))).toBe(true);
  });

  it('is false for another value, another length, or no stored AAD', () => {
    expect(aadEquals(stored, encodeAad({ tenant: 'acme', field: 'ssm' }))).toBe(false);
    expect(aadEquals(stored, encodeAad({ tenant: 'acme' }))).toBe(false);
    expect(aadEquals(stored, Buffer.concat([stored, Buffer.of(0)]))).toBe(false);
    expect(aadEquals(undefined, encodeAad(''))).toBe(false);
    expect(aadEquals(encodeAad(''), encodeAad({}))).toBe(false);
  });
});
