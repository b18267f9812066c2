import { QUOTED_INPUT_MAX_CHARS } from '../errors/quoted-input.js';
import { encodeAad } from './aad.js';
import {
  formatCompactEnvelope,
  formatEnvelope,
  parseCompactEnvelope,
  parseEnvelope,
} from './envelope-codec.js';
import { MAX_AAD_BYTES, MAX_PLAINTEXT_BYTES } from './envelope.constants.js';
import type { EnvelopeV1, ParsedEnvelope } from './envelope.interface.js';
import {
  PARTS,
  NO_AAD,
  VALID,
  VALID_COMPACT,
  withField,
  compactWith,
  leaks,
  parseError,
  paddingBitTag,
  paddingBitCiphertext,
  paddingBitAad,
} from './fixtures/envelope-fixtures.js';
import { MALFORMED_COMPACT } from './fixtures/malformed-compact-envelopes.js';
import { MALFORMED_OBJECTS } from './fixtures/malformed-object-envelopes.js';

const MALFORMED = [...MALFORMED_OBJECTS, ...MALFORMED_COMPACT];

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
    // oxlint-disable-next-line typescript/no-extraneous-class -- the case needs an instance of a class
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
