import { DATA_KEY_BINDING_PREFIX, IV_BYTES, TAG_BYTES } from './pkcs11.constants.js';
import { pkcs11 } from './pkcs11-library.js';

/** The GCM additional data that binds a wrapped key to its data key id. */
export function bindingOf(keyId: string): Buffer {
  return Buffer.from(`${DATA_KEY_BINDING_PREFIX}${keyId}`, 'utf8');
}

/** CKM_AES_GCM with a 96-bit IV, `aad` and a 128-bit tag. */
export function gcm(iv: Buffer, aad: Buffer) {
  return {
    mechanism: pkcs11.CKM_AES_GCM,
    parameter: {
      type: pkcs11.CK_PARAMS_AES_GCM,
      iv,
      ivBits: IV_BYTES * 8,
      aad,
      tagBits: TAG_BYTES * 8,
    },
  };
}
