import { createHmac } from 'node:crypto';
import { deriveSubkey, keyFingerprint } from '../crypto/key-derivation.js';
import type { TenantKeySet } from '../keyring/tenant-key-set.js';
import type { MasterKeyProvider } from '../master-key/master-key-provider.interface.js';

/** Tenants' keys by the subkey they are made of: the tenant's key set owns (and zeroes) it. */
const tenantKeys = new WeakMap<Buffer, BlindIndexKey>();

/**
 * One column's blind-index key. Stored indexes start with its tag, so rows indexed under another
 * key can be found and re-indexed (encryptExistingRows). Keys derive from the keyring's index
 * root key; keyrings made before it existed derived them from the master key's bytes, and those
 * keys stay usable for lookups while that master key is held.
 */
export class BlindIndexKey {
  private constructor(
    private readonly key: Buffer,
    readonly tag: string,
  ) {}

  /** The key for `label` under the keyring's index root key: what indexes are written with. */
  static fromIndexRoot(indexRoot: Buffer, label: string): BlindIndexKey {
    return BlindIndexKey.tagged(deriveSubkey(indexRoot, `nest-kms/v2/blind-index/${label}`));
  }

  /**
   * The key for `label` as keyrings derived it before they had an index root key (from the
   * master key's bytes); undefined for a provider that cannot derive (an external one).
   */
  static async fromMasterKey(
    provider: MasterKeyProvider,
    label: string,
  ): Promise<BlindIndexKey | undefined> {
    if (!provider.deriveKey) return undefined;
    return BlindIndexKey.tagged(await provider.deriveKey(`nest-kms/v1/blind-index/${label}`));
  }

  /**
   * The key for `label` of one tenant, derived from the tenant's first data key, so it is gone
   * when destroyTenant deletes the tenant's keys. Owned by `keys`: never destroyed by the caller,
   * and used at once (a refresh of the set zeroes it).
   */
  static ofTenant(keys: TenantKeySet, label: string): BlindIndexKey {
    const subkey = keys.subkey(`blind-index/${label}`);
    let key = tenantKeys.get(subkey);
    if (key === undefined) tenantKeys.set(subkey, (key = BlindIndexKey.tagged(subkey)));
    return key;
  }

  private static tagged(key: Buffer): BlindIndexKey {
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
