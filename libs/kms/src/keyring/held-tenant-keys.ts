import type { KeyringStore } from './keyring-store.interface.js';
import { flushKeyUsage, type KeyUsage } from './keyring-writes.js';
import type { TenantKeySet } from './tenant-key-set.js';

/** Tenants whose keys stay in memory at once; the least recently used go beyond it. */
const TENANT_KEY_SETS_HELD = 10_000;
/** The share of the cache dropped at once when it is full, so that dropping is rare. */
export const EVICTED_SHARE = 16;

/**
 * The tenants' key sets in memory, by tenant and by tag: a bounded least-recently-used cache.
 * Every set it lets go of is zeroed, its seals since the last flush kept as counts.
 */
export class HeldTenantKeys {
  /** By tenant id. */
  private readonly sets = new Map<string, TenantKeySet>();
  private readonly byTag = new Map<string, TenantKeySet>();
  /** Marks each use; the sets with the lowest marks are the least recently used. */
  private uses = 0;
  /** Seal counts of keys dropped from memory before their flush (without their material). */
  private readonly uncounted: KeyUsage[] = [];

  get size(): number {
    return this.sets.size;
  }

  get(tenant: string): TenantKeySet | undefined {
    return this.sets.get(tenant);
  }

  ofTag(tag: string): TenantKeySet | undefined {
    return this.byTag.get(tag);
  }

  values(): IterableIterator<TenantKeySet> {
    return this.sets.values();
  }

  /** Marks `set` used now. A mark, not a delete and re-insert: on a Map of thousands that costs tens of µs. */
  touch(set: TenantKeySet): void {
    set.lastUsed = ++this.uses;
  }

  /** Keeps `set` as the tenant's, most recently used; the least recently used beyond capacity goes. */
  hold(tenant: string, set: TenantKeySet): TenantKeySet {
    this.touch(set);
    if (this.sets.get(tenant) !== set) {
      if (this.sets.size >= TENANT_KEY_SETS_HELD) this.evict();
      this.sets.set(tenant, set);
    }
    this.byTag.set(set.tag, set);
    return set;
  }

  /** Drops (and zeroes) the set of the tenant with tag `tag`, if held. */
  forget(tag: string): void {
    const set = this.byTag.get(tag);
    if (!set) return;
    this.byTag.delete(tag);
    if (this.sets.get(set.tenant) === set) this.sets.delete(set.tenant);
    // Its seals since the last flush still count towards its keys' limits.
    for (const key of set.keys.values()) {
      if (key.pendingEncryptions > 0) {
        const { id, encryptions, pendingEncryptions } = key;
        this.uncounted.push({ id, encryptions, pendingEncryptions });
      }
    }
    set.zero();
  }

  /** Drops (and zeroes) every set; their seals since the last flush still count, as in forget. */
  clear(): void {
    // A Map's iteration goes on past the entries deleted behind it.
    for (const tag of this.byTag.keys()) this.forget(tag);
  }

  /** Adds the held keys' pending encryption counts, and those of keys let go of, to the store. */
  async flushUsage(store: Pick<KeyringStore, 'addEncryptions'>): Promise<void> {
    const uncounted = this.uncounted.splice(0);
    try {
      await flushKeyUsage(uncounted, store);
    } finally {
      this.uncounted.push(...uncounted.filter((key) => key.pendingEncryptions > 0));
    }
    for (const set of this.sets.values()) await flushKeyUsage(set.keys.values(), store);
  }

  /** Drops (and zeroes) the least recently used sixteenth of the cache. */
  private evict(): void {
    const oldest = [...this.sets.values()]
      .sort((a, b) => a.lastUsed - b.lastUsed)
      .slice(0, Math.max(1, Math.floor(TENANT_KEY_SETS_HELD / EVICTED_SHARE)));
    for (const set of oldest) this.forget(set.tag);
  }
}
