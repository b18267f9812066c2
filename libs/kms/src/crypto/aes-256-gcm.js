import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { DecryptionFailedError } from '../errors/decryption-failed.error.js';
import { UnsupportedCryptoParametersError } from '../errors/unsupported-crypto-parameters.error.js';
export const AES_256_GCM = {
  name: 'aes-256-gcm',
  keyBytes: 32,
  ivBytes: 12,
  tagBytes: 16,
};
function needsLength(what, actual, expected) {
  if (actual !== expected) {
    throw new UnsupportedCryptoParametersError(`${what} must be ${expected} bytes (got ${actual})`);
  }
}
export function gcmSeal(key, plaintext, aad) {
  return gcmSealWithIv(key, randomBytes(AES_256_GCM.ivBytes), plaintext, aad);
}
export function gcmSealWithIv(key, iv, plaintext, aad) {
  needsLength('key', key.length, AES_256_GCM.keyBytes);
  needsLength('iv', iv.length, AES_256_GCM.ivBytes);
  const cipher = createCipheriv(AES_256_GCM.name, key, iv, { authTagLength: AES_256_GCM.tagBytes });
  cipher.setAAD(aad);
  const head = cipher.update(plaintext);
  const tail = cipher.final();
  const ciphertext = tail.length === 0 ? head : Buffer.concat([head, tail]);
  return { iv, ciphertext, tag: cipher.getAuthTag() };
}
export function gcmOpen(key, iv, ciphertext, tag, aad) {
  needsLength('key', key.length, AES_256_GCM.keyBytes);
  needsLength('iv', iv.length, AES_256_GCM.ivBytes);
  needsLength('tag', tag.length, AES_256_GCM.tagBytes);
  const decipher = createDecipheriv(AES_256_GCM.name, key, iv, {
    authTagLength: AES_256_GCM.tagBytes,
  });
  decipher.setAuthTag(tag);
  decipher.setAAD(aad);
  const head = decipher.update(ciphertext);
  let tail;
  try {
    tail = decipher.final();
  } catch {
    head.fill(0);
    throw new DecryptionFailedError();
  }
  return tail.length === 0 ? head : Buffer.concat([head, tail]);
}
//# sourceMappingURL=aes-256-gcm.js.map
