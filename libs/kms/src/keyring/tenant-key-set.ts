import { deriveSubkey } from '../crypto/key-derivation.js';
import { DataKeyNotFoundError } from '../errors/data-key-not-found.error.js';
import type { NestKmsError } from '../errors/nest-kms.error.js';
import type { DataKey } from './data-key.js';
import type { KeySource } from './key-source.js';
import type { MasterKey } from './master-keys.js';
import type { RecentMisses } from './recent-misses.js';
import { assertKeyOwner, tagOfTenantKeyId } from './tenant-ids.js';

/** Tenants' key ids recently not found, and what such a key is refused with. */
export interface TenantKeyMisses {
  readonly missing: RecentMisses;
  /** DataKeyNotFoundError, or in a replica region DataKeyNotReplicatedError (on its way). */
  notFound(id: string): NestKmsError;
}

/**
 * One tenant's data keys in memory (the active one and the retired ones still stored). Held by
 * TenantKeys in a bounded cache; an empty set (a tenant without keys, or not loaded where the
 * caller must not wait) opens nothing and seals nothing.
 */
export class TenantKeySet implements KeySource {
  readonly forTenant = true;
  readonly keys = new Map<string, DataKey>();
  /** When it was last used (TenantKeys' use counter): the cache drops the lowest first. */
  lastUsed = 0;
  /**
   * The tenant's own master keys, its current one first (bring your own key); undefined for a
   * tenant under the keyring's master key.
   */
  own: readonly MasterKey[] | undefined;
  /** Own master keys of a tenant moving back under the keyring's: they unwrap its keys until moved. */
  leaving: readonly MasterKey[] = [];
  /** When keys unwrapped by the tenant's own master key must be unwrapped again (epoch ms). */
  expiresAt = Infinity;
  /**
   * For a tenant under the keyring's master key while tenants may bring their own: when to ask
   * again whether it has brought one (epoch ms).
   */
  answerDueAt = Infinity;
  private activeKey: DataKey | undefined;
  private refreshing: Promise<void> | undefined;
  /** Keys derived from the tenant's first key, by label; zeroed with the set. */
  private readonly subkeys = new Map<string, Buffer>();

  readonly materialOf = (keyId: string): Buffer | undefined => this.keys.get(keyId)?.material;

  constructor(
    readonly tenant: string,
    /** The tenant's keyed tag (what its key ids and rows carry). */
    readonly tag: string,
    /** Reads the tenant's keys again into this set (another replica rotated them). */
    private readonly reload: (set: TenantKeySet) => Promise<void>,
    /** Key ids a reload did not find moments ago (not read again for them meanwhile), and their refusal. */
    private readonly misses?: TenantKeyMisses,
  ) {}

  get active(): DataKey {
    if (this.activeKey === undefined) throw new DataKeyNotFoundError(`(no key of this tenant)`);
    return this.activeKey;
  }

  get hasActive(): boolean {
    return this.activeKey !== undefined;
  }

  get(id: string): DataKey | undefined {
    return this.keys.get(id);
  }

  owns(id: string): boolean {
    return tagOfTenantKeyId(id) === this.tag;
  }

  /**
   * A key for one use (`label`) derived from the tenant's first data key (HKDF under its own
   * label, so it reveals nothing of that key): the same on every replica, unchanged by the
   * tenant's rotations (its first key is kept while the tenant is), and gone when destroyTenant
   * deletes the tenant's keys. Owned by the set: do not zero it; DataKeyNotFoundError when the
   * set holds no key.
   */
  subkey(label: string): Buffer {
    let subkey = this.subkeys.get(label);
    if (subkey === undefined) {
      subkey = deriveSubkey(this.first().material, `nest-kms/v2/tenant-subkey/${label}`);
      this.subkeys.set(label, subkey);
    }
    return subkey;
  }

  /** The tenant's first key: the oldest (a tenant's keys are made in strictly increasing time). */
  private first(): DataKey {
    let first: DataKey | undefined;
    for (const key of this.keys.values()) {
      if (first === undefined || key.createdAt < first.createdAt) first = key;
    }
    if (first === undefined) throw new DataKeyNotFoundError(`(no key of this tenant)`);
    return first;
  }

  /** The time after which the tenant's next key is made: keeps its keys in creation order. */
  get newestCreatedAt(): number {
    let newest = 0;
    for (const key of this.keys.values()) newest = Math.max(newest, key.createdAt);
    return newest;
  }

  /** A key of this tenant made by another replica since the set was loaded: read once more. */
  async fetch(id: string): Promise<DataKey> {
    if (this.misses?.missing.has(id)) throw this.misses.notFound(id);
    this.refreshing ??= this.reload(this).finally(() => (this.refreshing = undefined));
    // A read that failed (the store, the tenant's KMS) records no miss: it says nothing of the key.
    await this.refreshing;
    const key = this.keys.get(id);
    if (key) return key;
    if (!this.misses) throw new DataKeyNotFoundError(id);
    this.misses.missing.add(id);
    throw this.misses.notFound(id);
  }

  /**
   * Holds `keys` (with the status each has in `statuses`) from now on: keysOfRows hands back
   * the objects already held, so only keys no longer stored are zeroed.
   */
  replace(keys: readonly DataKey[], statuses: readonly DataKey['status'][]): void {
    for (const key of keys) assertKeyOwner(key.id, this.tag);
    const kept = new Set(keys.map((key) => key.id));
    this.zeroSubkeys();
    for (const [id, key] of this.keys) if (!kept.has(id)) key.material.fill(0);
    this.keys.clear();
    this.activeKey = undefined;
    keys.forEach((key, at) => {
      key.status = statuses[at];
      this.keys.set(key.id, key);
      if (key.status === 'active') this.activeKey = key;
    });
  }

  /** A key this process just made active (the previous active one is retired). */
  activate(key: DataKey): void {
    assertKeyOwner(key.id, this.tag);
    if (this.activeKey) this.activeKey.status = 'retired';
    this.keys.set(key.id, key);
    this.activeKey = key;
  }

  /** Forgets one key (destroyed by another replica); false when it was the active one. */
  drop(id: string): boolean {
    const key = this.keys.get(id);
    if (!key) return true;
    this.zeroSubkeys();
    key.material.fill(0);
    this.keys.delete(id);
    if (key !== this.activeKey) return true;
    this.activeKey = undefined;
    return false;
  }

  /** Zeroes every key: the set is empty from now on. */
  zero(): void {
    this.zeroSubkeys();
    for (const key of this.keys.values()) key.material.fill(0);
    this.keys.clear();
    this.activeKey = undefined;
  }

  private zeroSubkeys(): void {
    for (const subkey of this.subkeys.values()) subkey.fill(0);
    this.subkeys.clear();
  }
}
