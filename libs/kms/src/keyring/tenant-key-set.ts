import { DataKeyNotFoundError } from '../errors/data-key-not-found.error.js';
import type { DataKey } from './data-key.js';
import type { KeySource } from './key-source.js';
import { tagOfTenantKeyId } from './tenant-ids.js';

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
  private activeKey: DataKey | undefined;
  private refreshing: Promise<void> | undefined;

  readonly materialOf = (keyId: string): Buffer | undefined => this.keys.get(keyId)?.material;

  constructor(
    readonly tenant: string,
    /** The tenant's keyed tag (what its key ids and rows carry). */
    readonly tag: string,
    /** Reads the tenant's keys again into this set (another replica rotated them). */
    private readonly reload: (set: TenantKeySet) => Promise<void>,
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

  /** A key of this tenant made by another replica since the set was loaded: read once more. */
  async fetch(id: string): Promise<DataKey> {
    this.refreshing ??= this.reload(this).finally(() => (this.refreshing = undefined));
    await this.refreshing;
    const key = this.keys.get(id);
    if (!key) throw new DataKeyNotFoundError(id);
    return key;
  }

  /**
   * Holds `keys` (with the status each has in `statuses`) from now on: keysOfRows hands back
   * the objects already held, so only keys no longer stored are zeroed.
   */
  replace(keys: readonly DataKey[], statuses: readonly DataKey['status'][]): void {
    const kept = new Set(keys.map((key) => key.id));
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
    if (this.activeKey) this.activeKey.status = 'retired';
    this.keys.set(key.id, key);
    this.activeKey = key;
  }

  /** Forgets one key (destroyed by another replica); false when it was the active one. */
  drop(id: string): boolean {
    const key = this.keys.get(id);
    if (!key) return true;
    key.material.fill(0);
    this.keys.delete(id);
    if (key !== this.activeKey) return true;
    this.activeKey = undefined;
    return false;
  }

  /** Zeroes every key: the set is empty from now on. */
  zero(): void {
    for (const key of this.keys.values()) key.material.fill(0);
    this.keys.clear();
    this.activeKey = undefined;
  }
}
