import { AES_256_GCM, gcmOpen, gcmSeal } from '../crypto/aes-256-gcm.js';
import { decodeCanonical } from '../crypto/base64.js';
import { deriveSubkey, keyFingerprint } from '../crypto/key-derivation.js';
import { DecryptionFailedError } from '../errors/decryption-failed.error.js';
import { InvalidMasterKeyError } from '../errors/invalid-master-key.error.js';
const WRAP_FORMAT = 0x01;
const WRAP_KEY_LABEL = 'nest-kms/v1/data-key-wrapping';
const FINGERPRINT_LABEL = 'nest-kms fingerprint';
const WRAPPED_BYTES = 1 + AES_256_GCM.ivBytes + AES_256_GCM.tagBytes + AES_256_GCM.keyBytes;
export class LocalMasterKeyProvider {
  wrappingKey;
  fingerprintValue;
  constructor(masterKey) {
    if (!Buffer.isBuffer(masterKey) || masterKey.length !== AES_256_GCM.keyBytes) {
      throw new InvalidMasterKeyError(
        Buffer.isBuffer(masterKey) ? `got ${masterKey.length} bytes` : 'not a Buffer',
      );
    }
    this.wrappingKey = deriveSubkey(masterKey, WRAP_KEY_LABEL);
    this.fingerprintValue = `local:${keyFingerprint(masterKey, FINGERPRINT_LABEL)}`;
  }
  static fromBase64(text, source = 'KMS_MASTER_KEY') {
    const bytes = decodeCanonical(text.trim(), 'base64');
    if (bytes === undefined) throw new InvalidMasterKeyError(`${source} is not valid base64`);
    try {
      return new LocalMasterKeyProvider(bytes);
    } catch (error) {
      if (error instanceof InvalidMasterKeyError) {
        throw new InvalidMasterKeyError(`${source} decodes to ${bytes.length} bytes`);
      }
      throw error;
    } finally {
      bytes.fill(0);
    }
  }
  fingerprint() {
    return Promise.resolve(this.fingerprintValue);
  }
  wrapDataKey(dataKey, keyId) {
    const { iv, tag, ciphertext } = gcmSeal(this.wrappingKey, dataKey, bindingOf(keyId));
    return Promise.resolve(Buffer.concat([Buffer.of(WRAP_FORMAT), iv, tag, ciphertext]));
  }
  async unwrapDataKey(wrappedKey, keyId) {
    if (wrappedKey.length !== WRAPPED_BYTES || wrappedKey[0] !== WRAP_FORMAT) {
      throw new DecryptionFailedError();
    }
    const iv = wrappedKey.subarray(1, 1 + AES_256_GCM.ivBytes);
    const tag = wrappedKey.subarray(
      1 + AES_256_GCM.ivBytes,
      1 + AES_256_GCM.ivBytes + AES_256_GCM.tagBytes,
    );
    const ciphertext = wrappedKey.subarray(1 + AES_256_GCM.ivBytes + AES_256_GCM.tagBytes);
    return gcmOpen(this.wrappingKey, iv, ciphertext, tag, bindingOf(keyId));
  }
  destroy() {
    this.wrappingKey.fill(0);
  }
}
function bindingOf(keyId) {
  return Buffer.from(`nest-kms/data-key/v1:${keyId}`, 'utf8');
}
//# sourceMappingURL=local-master-key.provider.js.map
