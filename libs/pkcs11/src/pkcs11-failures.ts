import { MasterKeyProviderError, MasterKeyUnavailableError } from '@nest-kms/kms';
import { PKCS11_PROVIDER_NAME } from './pkcs11.constants.js';
import { pkcs11, returnValueOf } from './pkcs11-library.js';

/**
 * Return values that say the token or the session is gone for now, not that the request is
 * wrong: the keyring retries them, and the next call opens a new session and logs in again.
 */
const TRANSIENT = new Set<number>([
  pkcs11.CKR_SESSION_HANDLE_INVALID,
  pkcs11.CKR_SESSION_CLOSED,
  pkcs11.CKR_USER_NOT_LOGGED_IN,
  pkcs11.CKR_DEVICE_ERROR,
  pkcs11.CKR_DEVICE_REMOVED,
  pkcs11.CKR_DEVICE_MEMORY,
  pkcs11.CKR_TOKEN_NOT_PRESENT,
  pkcs11.CKR_HOST_MEMORY,
  pkcs11.CKR_SESSION_COUNT,
  pkcs11.CKR_OPERATION_ACTIVE,
  pkcs11.CKR_CRYPTOKI_NOT_INITIALIZED,
  pkcs11.CKR_GENERAL_ERROR,
  pkcs11.CKR_FUNCTION_FAILED,
]);

/** What C_Decrypt returns for a ciphertext that does not verify. */
const NOT_AUTHENTIC = new Set<number>([
  pkcs11.CKR_ENCRYPTED_DATA_INVALID,
  pkcs11.CKR_ENCRYPTED_DATA_LEN_RANGE,
]);

/**
 * C_Decrypt results that may mean a tag mismatch or a failing device: SoftHSM2 reports a GCM
 * tag mismatch as CKR_GENERAL_ERROR. A self-check on the token tells the two apart.
 */
const AMBIGUOUS_ON_DECRYPT = new Set<number>([
  pkcs11.CKR_GENERAL_ERROR,
  pkcs11.CKR_FUNCTION_FAILED,
]);

/** True when `error` is a PKCS#11 refusal of a ciphertext that does not verify. */
export function isNotAuthentic(error: unknown): boolean {
  const returned = returnValueOf(error);
  return returned !== undefined && NOT_AUTHENTIC.has(returned.code);
}

/** True when a C_Decrypt failure needs a self-check to say whether the ciphertext or the token failed. */
export function isAmbiguousOnDecrypt(error: unknown): boolean {
  const returned = returnValueOf(error);
  return returned !== undefined && AMBIGUOUS_ON_DECRYPT.has(returned.code);
}

/** True when the library says it is not initialised (someone finalised it under us). */
export function isNotInitialized(error: unknown): boolean {
  return returnValueOf(error)?.code === pkcs11.CKR_CRYPTOKI_NOT_INITIALIZED;
}

/** True when the token refused the PIN for good (wrong or locked): logging in again would lock it. */
export function isPinRefusal(error: unknown): boolean {
  const code = returnValueOf(error)?.code;
  return code === pkcs11.CKR_PIN_INCORRECT || code === pkcs11.CKR_PIN_LOCKED;
}

/**
 * `error` from the PKCS#11 call `call` as the keyring's failure type. Errors of this package
 * pass through. The reason names the call and the CKR_* value, never an argument: no PIN, no
 * key, no data reaches a message.
 */
export function providerFailure(
  error: unknown,
  call: string,
): MasterKeyUnavailableError | MasterKeyProviderError {
  if (error instanceof MasterKeyUnavailableError || error instanceof MasterKeyProviderError) {
    return error;
  }
  const returned = returnValueOf(error);
  if (returned === undefined) {
    const name = error instanceof Error ? error.name : typeof error;
    return new MasterKeyProviderError(PKCS11_PROVIDER_NAME, `${call} failed (${name})`);
  }
  const reason = `${call} returned ${returned.name}`;
  if (TRANSIENT.has(returned.code))
    return new MasterKeyUnavailableError(PKCS11_PROVIDER_NAME, reason);
  if (returned.code === pkcs11.CKR_PIN_INCORRECT) {
    return new MasterKeyProviderError(
      PKCS11_PROVIDER_NAME,
      `${reason}: the token refused the PIN; no further login is tried with it (the token locks after a few wrong PINs), fix the PIN and restart`,
    );
  }
  return new MasterKeyProviderError(PKCS11_PROVIDER_NAME, reason);
}
