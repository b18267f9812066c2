import type { DataKeyRotation } from '../interfaces/data-key-rotation.interface.js';
import type { AdditionalWraps } from './additional-wraps.js';
import { newDataKey, type DataKey } from './data-key.js';
import { subkeyOf } from './keyring-subkeys.js';
import { keysOfRows } from './keys-of-rows.js';
import type { MasterKeys } from './master-keys.js';
import { TenantKeySet } from './tenant-key-set.js';
import type { TenantKeyStore } from './tenant-key-store.interface.js';
import { newTenantKeyId, tagOfTenantKeyId, tenantTag } from './tenant-ids.js';

/** Tenants whose keys stay in memory at once; the least recently used go beyond it. */
export const TENANT_KEY_SETS_HELD = 10_000;
/** The share of the cache dropped at once when it is full, so that dropping is rare. */
const EVICTED_SHARE = 16;

/**
 * Tenants' data keys: loaded on a tenant's first use (made then if it has none, once across
 * replicas), held in a bounded least-recently-used cache, rotated and destroyed per tenant.
 * Nothing is loaded at start-up.
 */
export class TenantKeys {
  /** By tenant id. */
  private readonly sets = new Map<string, TenantKeySet>();
  /** Marks each use; the sets with the lowest marks are the least recently used. */
  private uses = 0;
  private readonly byTag = new Map<string, TenantKeySet>();
  private readonly loads = new Map<string, Promise<TenantKeySet>>();
  private readonly tagKey: Buffer;

  constructor(
    private readonly store: TenantKeyStore,
    private readonly masters: MasterKeys,
    private readonly wraps: AdditionalWraps,
    indexRoot: Buffer,
    private readonly now: () => number,
    private readonly capacity = TENANT_KEY_SETS_HELD,
  ) {
    this.tagKey = subkeyOf(indexRoot, 'tenant-tags');
  }

  /** Tenants whose keys are in memory. */
  get size(): number {
    return this.sets.size;
  }

  /** The tenant's keys if in memory (marked recently used), else an empty set that opens nothing. */
  inMemory(tenant: string): TenantKeySet {
    const set = this.sets.get(tenant);
    if (set === undefined) return this.emptySet(tenant);
    // A mark, not a delete and re-insert: on a Map of thousands that costs tens of µs.
    set.lastUsed = ++this.uses;
    return set;
  }

  /**
   * The tenant's keys, loaded on first use. `create`: a tenant without keys gets its first one
   * (for sealing); otherwise it answers an empty set (opening needs no new key).
   */
  of(tenant: string, create: boolean): TenantKeySet | Promise<TenantKeySet> {
    const set = this.sets.get(tenant);
    if (set !== undefined && (set.hasActive || !create)) return this.inMemory(tenant);
    let load = this.loads.get(tenant);
    if (!load) {
      load = this.load(tenant, create).finally(() => this.loads.delete(tenant));
      this.loads.set(tenant, load);
    }
    return load.then((loaded) => (loaded.hasActive || !create ? loaded : this.of(tenant, create)));
  }

  /** A new active key for the tenant (its first if it has none); the previous one keeps opening. */
  async rotate(tenant: string): Promise<DataKeyRotation> {
    const set = await this.of(tenant, false);
    for (;;) {
      const previous = set.hasActive ? set.active.id : null;
      const key = await this.newKey(set, previous);
      if (key) {
        this.hold(tenant, set).activate(key);
        return { keyId: key.id, previousKeyId: previous };
      }
      await this.refresh(set);
    }
  }

  /** Deletes the tenant's keys for good (store, then memory); returns the ids deleted. */
  async destroy(tenant: string): Promise<string[]> {
    const tag = tenantTag(this.tagKey, tenant);
    const ids = await this.store.destroyTenantKeys(tag);
    this.forgetTag(tag);
    return ids;
  }

  /** Ids of the tenant's stored keys (for counting what uses them before destroying them). */
  async storedKeyIds(tenant: string): Promise<string[]> {
    const rows = await this.store.listTenantKeys(tenantTag(this.tagKey, tenant));
    return rows.map((row) => row.id);
  }

  /** Another replica made `keyId` the tenant's active key: its keys are read again on next use. */
  heardRotated(keyId: string): void {
    const tag = tagOfTenantKeyId(keyId);
    if (tag !== undefined && this.byTag.get(tag)?.get(keyId) === undefined) this.forgetTag(tag);
  }

  /** Another replica destroyed `keyId`: zeroed here (with its tenant's set, if it was active). */
  heardDestroyed(keyId: string): void {
    const tag = tagOfTenantKeyId(keyId);
    const set = tag === undefined ? undefined : this.byTag.get(tag);
    if (set && !set.drop(keyId)) this.forgetTag(set.tag);
  }

  /** The material of a tenant key in memory (additional wraps catching up). */
  material(keyId: string): Buffer | undefined {
    const tag = tagOfTenantKeyId(keyId);
    return tag === undefined ? undefined : this.byTag.get(tag)?.get(keyId)?.material;
  }

  /** Zeroes and drops every tenant's keys (shutdown, or a resync after lost notifications). */
  clear(): void {
    for (const set of this.sets.values()) set.zero();
    this.sets.clear();
    this.byTag.clear();
  }

  /** clear(), and the tag key zeroed: the keyring is closing. */
  close(): void {
    this.clear();
    this.tagKey.fill(0);
  }

  private emptySet(tenant: string): TenantKeySet {
    return new TenantKeySet(tenant, tenantTag(this.tagKey, tenant), (set) => this.refresh(set));
  }

  private async load(tenant: string, create: boolean): Promise<TenantKeySet> {
    const set = this.sets.get(tenant) ?? this.emptySet(tenant);
    await this.refresh(set);
    if (!set.hasActive && create) {
      const key = await this.newKey(set, null);
      if (key) set.activate(key);
      else await this.refresh(set);
    }
    return set.keys.size > 0 ? this.hold(tenant, set) : set;
  }

  /** Reads the tenant's stored keys into `set`, unwrapping only those it does not hold. */
  private async refresh(set: TenantKeySet): Promise<void> {
    const rows = await this.store.listTenantKeys(set.tag);
    const keys = await keysOfRows(rows, set.keys, (row) => this.masters.unwrap(row));
    set.replace(
      keys,
      rows.map((row) => row.status),
    );
  }

  /**
   * A new active key for the tenant, stored only while `expectedActiveId` is still its active
   * key; undefined (nothing kept) when another process stored one first. It is made after every
   * key the set holds, whatever this machine's clock says, so the tenant's first key stays its
   * oldest (its subkeys derive from it).
   */
  private async newKey(
    set: TenantKeySet,
    expectedActiveId: string | null,
  ): Promise<DataKey | undefined> {
    const { provider, fingerprint } = await this.masters.verifiedCurrent();
    const createdAt = Math.max(this.now(), set.newestCreatedAt + 1);
    const next = await newDataKey(provider, fingerprint, createdAt, newTenantKeyId(set.tag));
    let stored: boolean;
    try {
      stored = await this.store.storeTenantKey(set.tag, next.stored, expectedActiveId);
    } catch (error) {
      next.material.fill(0);
      throw error;
    }
    if (!stored) {
      next.material.fill(0);
      return undefined;
    }
    const key: DataKey = {
      id: next.stored.id,
      material: next.material,
      status: 'active',
      createdAt: next.stored.createdAt,
      encryptions: 0,
      pendingEncryptions: 0,
    };
    await this.wraps.wrapNew(key);
    return key;
  }

  /** Keeps `set` as the tenant's, most recently used; the least recently used beyond capacity goes. */
  private hold(tenant: string, set: TenantKeySet): TenantKeySet {
    set.lastUsed = ++this.uses;
    if (this.sets.get(tenant) !== set) {
      if (this.sets.size >= this.capacity) this.evict();
      this.sets.set(tenant, set);
    }
    this.byTag.set(set.tag, set);
    return set;
  }

  /** Drops (and zeroes) the least recently used sixteenth of the cache. */
  private evict(): void {
    const oldest = [...this.sets.values()]
      .sort((a, b) => a.lastUsed - b.lastUsed)
      .slice(0, Math.max(1, Math.floor(this.capacity / EVICTED_SHARE)));
    for (const set of oldest) this.forgetTag(set.tag);
  }

  private forgetTag(tag: string): void {
    const set = this.byTag.get(tag);
    if (!set) return;
    this.byTag.delete(tag);
    if (this.sets.get(set.tenant) === set) this.sets.delete(set.tenant);
    set.zero();
  }
}
