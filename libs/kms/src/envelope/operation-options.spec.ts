import { InvalidInputError } from '../errors/invalid-input.error.js';
import { checkDecryptOptions, checkEncryptOptions } from './operation-options.js';

describe('encrypt and decrypt options', () => {
  it('accepts the known ones', () => {
    expect(checkEncryptOptions({})).toEqual({});
    expect(checkEncryptOptions({ aad: 'user-1' })).toEqual({ aad: 'user-1' });
    expect(checkDecryptOptions({ aad: { tenant: 'acme' }, as: 'buffer' })).toBeDefined();
    expect(checkDecryptOptions({ as: 'string' })).toBeDefined();
  });

  it.each([
    ['a misspelt aad on encrypt', () => checkEncryptOptions({ aads: 'user-1' } as never)],
    ['as on encrypt', () => checkEncryptOptions({ as: 'buffer' } as never)],
    ['a misspelt aad on decrypt', () => checkDecryptOptions({ aAd: 'user-1' } as never)],
    ["as: 'base64'", () => checkDecryptOptions({ as: 'base64' } as never)],
    ['a symbol-keyed option', () => checkDecryptOptions({ [Symbol('aad')]: 'x' } as never)],
    ['options that are not an object', () => checkDecryptOptions('aad' as never)],
  ])('refuses %s with InvalidInputError', (_, call) => {
    expect(call).toThrow(InvalidInputError);
  });

  it('names an unknown option bounded and escaped', () => {
    const error = (() => {
      try {
        checkDecryptOptions({ ['x\n'.repeat(100)]: 1 } as never);
      } catch (caught) {
        return caught as InvalidInputError;
      }
    })();
    expect(error?.message).toContain('\\n');
    expect(error?.message).not.toContain('\n');
    expect(error?.message.length).toBeLessThan(250);
  });
});
