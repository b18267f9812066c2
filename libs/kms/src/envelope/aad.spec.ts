import fc from 'fast-check';
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
