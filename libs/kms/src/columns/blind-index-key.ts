import { createHmac } from 'node:crypto';
import { keyFingerprint } from '../crypto/key-derivation.js';
import { KmsConfigurationError } from '../errors/kms-configuration.error.js';
import type { MasterKeyProvider } from '../master-key/master-key-provider.interface.js';

/**
 * One column's blind-index key, derived from a master key. Stored indexes start with its tag,
 * so the rows indexed under another master key can be found and re-indexed.
 */
export class BlindIndexKey {
  private constructor(
    private readonly key: Buffer,
    readonly tag: string,
  ) {}

  static async derive(provider: MasterKeyProvider, label: string): Promise<BlindIndexKey> {
    if (!provider.deriveKey) {
      throw new KmsConfigurationError(
        'blind indexes need a master key provider that derives keys (deriveKey)',
      );
    }
    const key = await provider.deriveKey(`nest-kms/v1/blind-index/${label}`);
    return new BlindIndexKey(key, keyFingerprint(key, 'nest-kms blind index tag', 4));
  }

  /** `tag.base64url(HMAC-SHA256(key, bytes))`: 52 characters. */
  index(bytes: Buffer): string {
    return `${this.tag}.${createHmac('sha256', this.key).update(bytes).digest('base64url')}`;
  }

  destroy(): void {
    this.key.fill(0);
  }
}
