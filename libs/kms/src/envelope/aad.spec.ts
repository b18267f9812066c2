import fc from 'fast-check';
import { InvalidInputError } from '../errors/invalid-input.error.js';
import { aadTemplate, encodeAad } from './aad.js';

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
