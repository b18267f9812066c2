import { MASK } from '../config.messages.js';
import { redact, textForms } from './redaction.js';

describe('redact', () => {
  it('removes every occurrence of a sensitive value, even inside a word', () => {
    expect(redact('got s3cr3t and xs3cr3tx', ['s3cr3t'], true)).toBe(`got ${MASK} and x${MASK}x`);
  });

  it('removes only whole tokens of another value, so numbers in rules survive', () => {
    expect(redact('port 3 must not be less than 3000', ['3'], false)).toBe(
      `port ${MASK} must not be less than 3000`,
    );
  });

  it('treats the value literally, not as a pattern', () => {
    expect(redact('a.b and axb', ['a.b'], false)).toBe(`${MASK} and axb`);
    expect(redact('value (x+y)*', ['(x+y)*'], true)).toBe(`value ${MASK}`);
  });

  it('replaces the longest forms first', () => {
    expect(redact('abc and abcdef', ['abc', 'abcdef'], true)).toBe(`${MASK} and ${MASK}`);
  });

  it('ignores empty values', () => {
    expect(redact('unchanged', [''], true)).toBe('unchanged');
  });
});

describe('textForms', () => {
  it('lists the texts a value may be printed as', () => {
    expect(textForms('x', 42, true)).toEqual(['x', '42', 'true']);
    expect(textForms(new Date(0))).toContain('1970-01-01T00:00:00.000Z');
    expect(textForms({ a: 'b' })).toEqual(['{"a":"b"}']);
    expect(textForms(undefined, null)).toEqual([]);
  });
});
