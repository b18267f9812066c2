import { QUOTED_INPUT_MAX_CHARS, quotedInput } from './quoted-input.js';

/** Printable ASCII only: no control character, no byte a terminal or log parser interprets. */
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

describe('quotedInput', () => {
  it('quotes a plain value as JSON does', () => {
    expect(quotedInput('dk-123')).toBe('"dk-123"');
    expect(quotedInput('say "hi"\\')).toBe('"say \\"hi\\"\\\\"');
  });

  it.each([
    ['NUL', 'a\u0000b', '"a\\u0000b"'],
    ['a newline', 'line\nforged log line', '"line\\nforged log line"'],
    ['ANSI escapes', '\u001b[31mred\u001b[0m', '"\\u001b[31mred\\u001b[0m"'],
    ['DEL', 'a\u007fb', '"a\\u007fb"'],
    ['non-ASCII', 'é€', '"\\u00e9\\u20ac"'],
    ['a lone surrogate', 'x\ud800', '"x\\ud800"'],
    ['an astral character', '😀', '"\\ud83d\\ude00"'],
    ['a bidi override', 'a\u202eb', '"a\\u202eb"'],
  ])('escapes %s', (_, input, expected) => {
    expect(quotedInput(input)).toBe(expected);
  });

  it('shows at most 64 characters of 10 KB, marks the cut and gives the length', () => {
    const quoted = quotedInput(`${'A'.repeat(10_240)}\n`);
    expect(quoted).toBe(`"${'A'.repeat(QUOTED_INPUT_MAX_CHARS)}"… (10241 chars)`);
  });

  it('stays one short printable line whatever the input', () => {
    const hostile = '\u0000\n\r\t\u001b]0;title\u0007\u001b[2J'.repeat(1_000);
    const quoted = quotedInput(hostile).replace('…', '');
    expect(quoted).toMatch(PRINTABLE_ASCII);
    expect(quoted.length).toBeLessThan(QUOTED_INPUT_MAX_CHARS * 6 + 32);
  });

  it('shows other values by type, never their content', () => {
    expect(quotedInput(42)).toBe('42');
    expect(quotedInput(null)).toBe('null');
    expect(quotedInput(undefined)).toBe('undefined');
    expect(quotedInput({ secret: 'x' })).toBe('(object)');
    expect(quotedInput(['x'])).toBe('(array)');
  });
});
