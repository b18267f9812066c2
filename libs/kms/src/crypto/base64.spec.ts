import fc from 'fast-check';
import { canonicalDecodedLength, decodeCanonical, decodeCanonicalInto } from './base64.js';

/** The definition: a string is canonical when re-encoding its bytes gives it back. */
function reference(text: string, encoding: 'base64' | 'base64url'): Buffer | undefined {
  const bytes = Buffer.from(text, encoding);
  return bytes.toString(encoding) === text ? bytes : undefined;
}

const runs = Number(process.env.FUZZ_RUNS ?? 20_000);
// Node's decoder reads only the low byte of a UTF-16 unit: U+0141 and U+D551 decode as 'A' and 'Q'.
const tricky = fc.constantFrom(
  '=',
  '-',
  '_',
  '+',
  '/',
  ' ',
  '\n',
  '.',
  'A',
  'Q',
  'g',
  'w',
  'z',
  '9',
  'é',
  '\u0000',
  '\u0141',
  '\uD551',
  '\u012B',
  '\u015F',
);

/**
 * Canonical encodings of random bytes, then mutated: replace, insert or delete characters. The
 * default sizes are the decoder's short path (up to 64 characters); `long` goes past it.
 */
const mutated = (encoding: 'base64' | 'base64url', long = false) =>
  fc
    .tuple(
      long ? fc.uint8Array({ minLength: 44, maxLength: 120 }) : fc.uint8Array({ maxLength: 50 }),
      fc.array(fc.tuple(fc.constantFrom('replace', 'insert', 'delete'), fc.nat(), tricky), {
        maxLength: 3,
      }),
    )
    .map(([bytes, edits]) => {
      let text = Buffer.from(bytes).toString(encoding);
      for (const [kind, at, char] of edits) {
        const i = text.length === 0 ? 0 : at % (text.length + (kind === 'insert' ? 1 : 0));
        if (kind === 'replace' && text.length > 0)
          text = text.slice(0, i) + char + text.slice(i + 1);
        if (kind === 'insert') text = text.slice(0, i) + char + text.slice(i);
        if (kind === 'delete' && text.length > 0) text = text.slice(0, i) + text.slice(i + 1);
      }
      return text;
    });

describe.each(['base64', 'base64url'] as const)('decodeCanonical(%s)', (encoding) => {
  it('agrees with re-encoding on canonical and mutated strings', () => {
    fc.assert(
      fc.property(mutated(encoding), (text) => {
        expect(decodeCanonical(text, encoding)).toEqual(reference(text, encoding));
      }),
      { numRuns: runs },
    );
  });

  it('agrees with re-encoding on long canonical and mutated strings', () => {
    fc.assert(
      fc.property(mutated(encoding, true), (text) => {
        expect(decodeCanonical(text, encoding)).toEqual(reference(text, encoding));
      }),
      { numRuns: runs },
    );
  });

  it('agrees with re-encoding on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 24 }), (text) => {
        expect(decodeCanonical(text, encoding)).toEqual(reference(text, encoding));
      }),
      { numRuns: runs },
    );
  });
});

describe.each(['base64', 'base64url'] as const)('decodeCanonicalInto(%s)', (encoding) => {
  it.each([false, true])(
    "gives decodeCanonical's verdict and bytes, and writes nothing outside its room (long: %s)",
    (long) => {
      fc.assert(
        fc.property(mutated(encoding, long), (text) => {
          const expected = reference(text, encoding);
          const length = canonicalDecodedLength(text, encoding);
          if (length < 0) {
            expect(expected).toBeUndefined();
            return;
          }
          const target = Buffer.alloc(length + 6, 0xa5);
          const canonical = decodeCanonicalInto(text, encoding, target, 3, length);
          expect(canonical ? target.subarray(3, 3 + length) : undefined).toEqual(expected);
          expect([...target.subarray(0, 3), ...target.subarray(3 + length)]).toEqual(
            Array(6).fill(0xa5),
          );
        }),
        { numRuns: runs },
      );
    },
  );
});

it('refuses the classic aliases of a canonical string', () => {
  expect(decodeCanonical('QUI=', 'base64')).toEqual(Buffer.from('AB'));
  for (const alias of ['QUJ=', 'QUI', 'QU I=', 'QUI==', 'QUI=\n', '\u0151UI=', 'Q\uD555I=']) {
    expect(decodeCanonical(alias, 'base64')).toBeUndefined();
  }
  expect(decodeCanonical('-_8', 'base64url')).toEqual(Buffer.from([0xfb, 0xff]));
  for (const alias of ['+/8', '-_8=', '-_9'])
    expect(decodeCanonical(alias, 'base64url')).toBeUndefined();
});
