import { InvalidInputError } from '../errors/invalid-input.error.js';
import {
  inferValueType,
  legacyValue,
  valueFromBytes,
  valueToBytes,
  type EncryptedValueType,
} from './column-value.js';

describe('encrypted column values', () => {
  it.each([
    ['string', 'naïve ☃'],
    ['number', -0],
    ['number', 0.1 + 0.2],
    ['number', -Infinity],
    ['boolean', false],
    ['date', new Date('1969-07-20T20:17:40.001Z')],
    ['json', { a: [1, { b: null }] }],
  ] as [EncryptedValueType, unknown][])('%s %s round-trips through its bytes', (type, value) => {
    const back = valueFromBytes(type, valueToBytes(type, value, 'E.p'));
    if (typeof value === 'number') expect(Object.is(back, value)).toBe(true);
    else expect(back).toEqual(value);
  });

  it('round-trips NaN', () => {
    expect(valueFromBytes('number', valueToBytes('number', NaN, 'E.p'))).toBeNaN();
  });

  it.each([
    ['string', 1, 'must be a string'],
    ['buffer', 'x', 'must be a Buffer'],
    ['number', '1', 'must be a number'],
    ['boolean', 1, 'must be a boolean'],
    ['date', '2026-01-01', 'must be a Date'],
    ['date', new Date(Number.NaN), 'is an invalid Date'],
    ['json', () => 1, 'must be a JSON value'],
    ['string', 'a\uD800', 'contains a lone UTF-16 surrogate'],
  ] as [EncryptedValueType, unknown, string][])(
    'refuses a %s column value %s, naming the column and not the value',
    (type, value, problem) => {
      const error = (() => {
        try {
          valueToBytes(type, value, 'Profile.ssn');
        } catch (caught) {
          return caught;
        }
        throw new Error('accepted');
      })();
      expect(error).toBeInstanceOf(InvalidInputError);
      expect((error as Error).message).toBe(`Invalid Profile.ssn: ${problem}`);
    },
  );

  it('infers only what a design type says for certain', () => {
    expect(inferValueType(String)).toBe('string');
    expect(inferValueType(Number)).toBe('number');
    expect(inferValueType(Date)).toBe('date');
    expect(inferValueType(Buffer)).toBe('buffer');
    expect(inferValueType(Array)).toBe('json');
    // `string | null` and object types both emit Object: the caller must say which.
    expect(inferValueType(Object)).toBeUndefined();
  });

  it('reads legacy plaintext in the text form each type would have been stored in', () => {
    expect(legacyValue('string', 'plain')).toBe('plain');
    expect(legacyValue('number', '42.5')).toBe(42.5);
    expect(legacyValue('number', 7)).toBe(7);
    expect(legacyValue('boolean', '1')).toBe(true);
    expect(legacyValue('boolean', 0)).toBe(false);
    expect(legacyValue('date', '2026-11-30T00:00:00.000Z')).toEqual(new Date('2026-11-30'));
    expect(legacyValue('json', '{"a":1}')).toEqual({ a: 1 });
    expect(legacyValue('buffer', 'AAEC')).toEqual(Buffer.from([0, 1, 2]));
    expect(legacyValue('number', 'twelve')).toBeUndefined();
    expect(legacyValue('date', 'yesterday')).toBeUndefined();
    expect(legacyValue('json', '{broken')).toBeUndefined();
    expect(legacyValue('boolean', 'yes')).toBeUndefined();
  });
});
