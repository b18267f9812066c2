import fc from 'fast-check';
import { InvalidInputError } from '../errors/invalid-input.error.js';
import { aadEquals, aadTemplate, encodeAad } from './aad.js';
import { MAX_AAD_BYTES } from './envelope.constants.js';
import type { AadInput } from './envelope.interface.js';

describe('aadTemplate', () => {
  it('encodes exactly what encodeAad encodes for the same map', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string(), fc.string(), { maxKeys: 5 }),
        fc.string(),
        fc.string(),
        (fixed, key, value) => {
          fc.pre(!(key in fixed));
          const wellFormed = [...Object.entries(fixed).flat(), key, value].every((text) =>
            text.isWellFormed(),
          );
          fc.pre(wellFormed);
          expect(aadTemplate(fixed, key)(value)).toEqual(encodeAad({ ...fixed, [key]: value }));
        },
      ),
    );
  });

  it('refuses what encodeAad refuses', () => {
    const bind = aadTemplate({ 'kms.table': 't' }, 'kms.row');
    expect(() => bind('a\uD800')).toThrow('contains a lone UTF-16 surrogate');
    expect(() => bind('x'.repeat(9000))).toThrow('encodes to more than 8192 bytes');
    expect(() => aadTemplate({ row: 'x' }, 'row')).toThrow('"row" is given twice');
  });
});

describe('encodeAad refuses a map that would bind differently from what the caller sees', () => {
  class Context {
    readonly tenant = 'acme';
  }
  const withGetter = Object.defineProperty({}, 'tenant', { get: () => 'acme', enumerable: true });
  const withHidden = Object.defineProperty({ tenant: 'acme' }, 'field', { value: 'ssn' });
  it.each([
    ['a Date (its own keys are none, so it would bind as {})', new Date(0)],
    ['a class instance', new Context()],
    ['fields inherited through the prototype', Object.create({ tenant: 'acme' }) as object],
    ['an array', ['acme']],
    ['a symbol-keyed field', { tenant: 'acme', [Symbol('field')]: 'ssn' }],
    ['a getter', withGetter],
    ['a hidden (non-enumerable) field', withHidden],
    ['a number value', { tenant: 1 }],
    ['null', null],
  ])('%s', (_, aad) => {
    expect(() => encodeAad(aad as never)).toThrow(InvalidInputError);
  });

  it('accepts a null-prototype map, encoded like the plain one', () => {
    const bare = Object.assign(Object.create(null) as object, { tenant: 'acme' });
    expect(encodeAad(bare as Record<string, string>)).toEqual(encodeAad({ tenant: 'acme' }));
  });
});

/** encodeAad's definition, written out: type byte, then sorted length-prefixed UTF-8. */
function referenceAad(aad: AadInput): Buffer {
  if (typeof aad === 'string') return Buffer.concat([Buffer.of(1), Buffer.from(aad, 'utf8')]);
  const prefixed = (text: string) => {
    const bytes = Buffer.from(text, 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    return [length, bytes];
  };
  const entries = Object.entries(aad).sort(([a], [b]) => (a < b ? -1 : 1));
  return Buffer.concat([
    Buffer.of(2),
    ...entries.flatMap(([k, v]) => [...prefixed(k), ...prefixed(v)]),
  ]);
}

describe('encodeAad of an AAD named again', () => {
  // Few characters, so the same maps and strings come back and are answered from what was kept.
  const text = fc.string({ unit: fc.constantFrom('a', 'b', '\u0000', 'é', '🔑'), maxLength: 3 });
  const aads: fc.Arbitrary<AadInput> = fc.oneof(text, fc.dictionary(text, text, { maxKeys: 3 }));

  it('encodes each map and string by its content, however often and in whatever order', () => {
    fc.assert(
      fc.property(fc.array(aads, { minLength: 1, maxLength: 20 }), (inputs) => {
        for (const aad of [...inputs, ...inputs.toReversed()]) {
          expect(encodeAad(aad)).toEqual(referenceAad(aad));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('encodes a map changed between two calls as it is at the second', () => {
    const context: Record<string, string> = { tenant: 'acme' };
    expect(encodeAad(context)).toEqual(referenceAad({ tenant: 'acme' }));
    context.tenant = 'globex';
    expect(encodeAad(context)).toEqual(referenceAad({ tenant: 'globex' }));
    context.field = 'ssn';
    expect(encodeAad(context)).toEqual(referenceAad({ tenant: 'globex', field: 'ssn' }));
    delete context.tenant;
    expect(encodeAad(context)).toEqual(referenceAad({ field: 'ssn' }));
  });

  it('keeps apart maps whose keys and values run together alike', () => {
    const maps: Record<string, string>[] = [
      { 'a\u0000b': 'c' },
      { a: 'b\u0000c' },
      { ab: 'c' },
      { a: 'bc' },
      { a: 'b', c: '' },
    ];
    for (const map of [...maps, ...maps]) expect(encodeAad(map)).toEqual(referenceAad(map));
  });

  it('still refuses a getter or a hidden field where a plain map of that content was kept', () => {
    expect(encodeAad({ tenant: 'acme', field: 'ssn' })).toEqual(
      referenceAad({ tenant: 'acme', field: 'ssn' }),
    );
    const withGetter = Object.defineProperty({ tenant: 'acme' }, 'field', {
      get: () => 'ssn',
      enumerable: true,
    });
    const withHidden = Object.defineProperty({ tenant: 'acme' }, 'field', { value: 'ssn' });
    expect(() => encodeAad(withGetter)).toThrow(InvalidInputError);
    expect(() => encodeAad(withHidden)).toThrow(InvalidInputError);
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
    expect(encodeAad({ a: 'b' }).toString('hex')).toBe(
      ['02', '00000001', '61', '00000001', '62'].join(''),
    );
  });

  it.each([
    ['null', null],
    ['a number', 42],
    ['a boolean', true],
    ['an array', ['a']],
    ['a Buffer', Buffer.from('a')],
  ])('rejects %s as AAD with InvalidInputError', (_, aad) => {
    // A Buffer is an object with index keys whose values are numbers: rejected as a map.
    expect(invalid(aad)).toBeInstanceOf(InvalidInputError);
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
