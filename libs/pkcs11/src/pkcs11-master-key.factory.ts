import { MasterKeyProviderError, quotedInput } from '@nest-kms/kms';
import { PKCS11_PROVIDER_NAME, MASTER_KEY_BYTES } from './pkcs11.constants.js';
import { providerFailure } from './pkcs11-failures.js';
import { pkcs11 } from './pkcs11-library.js';
import { Pkcs11MasterKeyProvider } from './pkcs11-master-key.provider.js';
import type {
  GeneratePkcs11MasterKeyOptions,
  Pkcs11MasterKeyOptions,
} from './pkcs11-master-key-options.interface.js';
import { pinFromOptions } from './pkcs11-pin.js';
import { SharedModule } from './shared-module.js';
import { findAesKey, findToken, fingerprintOf, requireAesGcm } from './token-objects.js';

/** A master key on a PKCS#11 token, for KmsModule's `masterKey` option. */
export function pkcs11MasterKey(options: Pkcs11MasterKeyOptions): Pkcs11MasterKeyProvider {
  return new Pkcs11MasterKeyProvider(options);
}

/**
 * Creates the master key on the token: AES-256, generated inside the token (CKM_AES_KEY_GEN),
 * stored on it (CKA_TOKEN), private, sensitive and not extractable, for encrypt and decrypt
 * only. Refuses when an AES key with that label exists. Returns the fingerprint the provider
 * will report for it. For operators: `softhsm2-util` and many vendor tools cannot make it.
 */
export async function generatePkcs11MasterKey(
  options: GeneratePkcs11MasterKeyOptions,
): Promise<string> {
  const pin = pinFromOptions(options);
  const shared = SharedModule.acquire(options.module);
  let call = 'C_OpenSession';
  try {
    const { slot, serial } = findToken(shared.library, options.tokenLabel);
    requireAesGcm(shared.library, slot);
    const session = shared.library.C_OpenSession(
      slot,
      pkcs11.CKF_RW_SESSION | pkcs11.CKF_SERIAL_SESSION,
    );
    try {
      call = 'C_Login';
      shared.login(session, options.userType ?? pkcs11.CKU_USER, pin.toString('utf8'));
      shared.holdLogin(slot);
      try {
        call = 'C_FindObjects';
        if (findAesKey(shared.library, session, options.keyLabel) !== undefined) {
          throw new MasterKeyProviderError(
            PKCS11_PROVIDER_NAME,
            `an AES key labelled ${quotedInput(options.keyLabel)} exists on the token already; choose another label`,
          );
        }
        call = 'C_GenerateKey';
        shared.library.C_GenerateKey(session, { mechanism: pkcs11.CKM_AES_KEY_GEN }, [
          { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_SECRET_KEY },
          { type: pkcs11.CKA_KEY_TYPE, value: pkcs11.CKK_AES },
          { type: pkcs11.CKA_VALUE_LEN, value: MASTER_KEY_BYTES },
          { type: pkcs11.CKA_TOKEN, value: true },
          { type: pkcs11.CKA_PRIVATE, value: true },
          { type: pkcs11.CKA_SENSITIVE, value: true },
          { type: pkcs11.CKA_EXTRACTABLE, value: false },
          { type: pkcs11.CKA_ENCRYPT, value: true },
          { type: pkcs11.CKA_DECRYPT, value: true },
          { type: pkcs11.CKA_WRAP, value: false },
          { type: pkcs11.CKA_UNWRAP, value: false },
          { type: pkcs11.CKA_LABEL, value: options.keyLabel },
          ...(options.id ? [{ type: pkcs11.CKA_ID, value: options.id }] : []),
        ]);
        return fingerprintOf(serial, options.keyLabel, options.id ?? Buffer.alloc(0));
      } finally {
        shared.releaseLogin(session, slot);
      }
    } finally {
      try {
        shared.library.C_CloseSession(session);
      } catch {
        // Closed under us: the failure being reported matters more.
      }
    }
  } catch (error) {
    throw providerFailure(error, call);
  } finally {
    shared.release();
    pin.fill(0);
  }
}
