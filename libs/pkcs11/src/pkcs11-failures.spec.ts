import { MasterKeyProviderError, MasterKeyUnavailableError } from '@nest-kms/kms';
import { isAmbiguousOnDecrypt, isNotAuthentic, providerFailure } from './pkcs11-failures.js';
import { pkcs11 } from './pkcs11-library.js';

/** A failure as pkcs11js reports it: `CKR_NAME:code` parsed into message and code. */
const returned = (name: string) =>
  new pkcs11.Pkcs11Error(`${name}:${(pkcs11 as unknown as Record<string, number>)[name]}`);

describe('PKCS#11 failure mapping', () => {
  it.each([
    'CKR_SESSION_HANDLE_INVALID',
    'CKR_SESSION_CLOSED',
    'CKR_DEVICE_ERROR',
    'CKR_DEVICE_REMOVED',
    'CKR_TOKEN_NOT_PRESENT',
    'CKR_DEVICE_MEMORY',
    'CKR_USER_NOT_LOGGED_IN',
    'CKR_CRYPTOKI_NOT_INITIALIZED',
  ])('%s is transient: MasterKeyUnavailableError, retried', (name) => {
    const failure = providerFailure(returned(name), 'C_Encrypt');
    expect(failure).toBeInstanceOf(MasterKeyUnavailableError);
    expect(failure.reason).toBe(`C_Encrypt returned ${name}`);
  });

  it.each([
    'CKR_PIN_INCORRECT',
    'CKR_PIN_LOCKED',
    'CKR_KEY_HANDLE_INVALID',
    'CKR_MECHANISM_INVALID',
    'CKR_KEY_FUNCTION_NOT_PERMITTED',
  ])('%s needs an operator: MasterKeyProviderError, not retried', (name) => {
    const failure = providerFailure(returned(name), 'C_Login');
    expect(failure).toBeInstanceOf(MasterKeyProviderError);
    expect(failure.reason).toContain(name);
  });

  it('passes its own errors through unchanged', () => {
    const own = new MasterKeyProviderError('pkcs11', 'no token labelled "x"');
    expect(providerFailure(own, 'C_GetSlotList')).toBe(own);
  });

  it('names only the type of an error that is not a PKCS#11 return value', () => {
    const failure = providerFailure(new TypeError('secret detail'), 'C_Login');
    expect(failure).toBeInstanceOf(MasterKeyProviderError);
    expect(failure.message).not.toContain('secret detail');
  });

  it('tells an unverifiable ciphertext from a result that needs the self-check', () => {
    expect(isNotAuthentic(returned('CKR_ENCRYPTED_DATA_INVALID'))).toBe(true);
    expect(isNotAuthentic(returned('CKR_ENCRYPTED_DATA_LEN_RANGE'))).toBe(true);
    expect(isNotAuthentic(returned('CKR_DEVICE_ERROR'))).toBe(false);
    expect(isAmbiguousOnDecrypt(returned('CKR_GENERAL_ERROR'))).toBe(true);
    expect(isAmbiguousOnDecrypt(returned('CKR_DEVICE_REMOVED'))).toBe(false);
  });
});
