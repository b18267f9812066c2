import { AES_256_GCM, gcmOpen, gcmSeal } from '../crypto/aes-256-gcm.js';
import { decodeCanonical } from '../crypto/base64.js';
import { deriveSubkey, keyFingerprint } from '../crypto/key-derivation.js';
import { DecryptionFailedError } from '../errors/decryption-failed.error.js';
import { InvalidMasterKeyError } from '../errors/invalid-master-key.error.js';
import type { MasterKeyProvider } from './master-key-provider.interface.js';

const WRAP_FORMAT = 0x01;
const WRAP_KEY_LABEL = 'nest-kms/v1/data-key-wrapping';
const FINGERPRINT_LABEL = 'nest-kms fingerprint';
const DERIVATION_KEY_LABEL = 'nest-kms/v1/derived-keys';
const WRAPPED_BYTES = 1 + AES_256_GCM.ivBytes + AES_256_GCM.tagBytes + AES_256_GCM.keyBytes;

/**
 * A master key held in process memory (from KMS_MASTER_KEY or options). Data keys are wrapped
 * with AES-256-GCM under a key derived from it (HKDF-SHA256), the data key id bound as AAD.
 * Wrapped layout: 0x01 | iv (12) | tag (16) | ciphertext (32).
 */
export class LocalMasterKeyProvider implements MasterKeyProvider {
  /** Its name in metrics, logs and fingerprints. */
  readonly name = 'local';
  private readonly wrappingKey: Buffer;
  private readonly derivationKey: Buffer;
  private readonly fingerprintValue: string;

  /** `masterKey` is copied; the caller may zero its own buffer afterwards. */
  constructor(masterKey: Buffer) {
    if (!Buffer.isBuffer(masterKey) || masterKey.length !== AES_256_GCM.keyBytes) {
      throw new InvalidMasterKeyError(
        Buffer.isBuffer(masterKey) ? `got ${masterKey.length} bytes` : 'not a Buffer',
      );
    }
    this.wrappingKey = deriveSubkey(masterKey, WRAP_KEY_LABEL);
    this.derivationKey = deriveSubkey(masterKey, DERIVATION_KEY_LABEL);
    this.fingerprintValue = `local:${keyFingerprint(masterKey, FINGERPRINT_LABEL)}`;
  }

  /** Parses canonical base64 of 32 bytes; `source` names where it came from, for the error. */
  static fromBase64(text: string, source = 'KMS_MASTER_KEY'): LocalMasterKeyProvider {
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

  fingerprint(): Promise<string> {
    return Promise.resolve(this.fingerprintValue);
  }

  wrapDataKey(dataKey: Buffer, keyId: string): Promise<Buffer> {
    const { iv, tag, ciphertext } = gcmSeal(this.wrappingKey, dataKey, bindingOf(keyId));
    return Promise.resolve(Buffer.concat([Buffer.of(WRAP_FORMAT), iv, tag, ciphertext]));
  }

  async unwrapDataKey(wrappedKey: Buffer, keyId: string): Promise<Buffer> {
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

  deriveKey(label: string): Promise<Buffer> {
    return Promise.resolve(deriveSubkey(this.derivationKey, label));
  }

  destroy(): void {
    this.wrappingKey.fill(0);
    this.derivationKey.fill(0);
  }
}

function bindingOf(keyId: string): Buffer {
  return Buffer.from(`nest-kms/data-key/v1:${keyId}`, 'utf8');
}
