import type { DataKeyRotation } from '../interfaces/data-key-rotation.interface.js';
import type { AdditionalWraps } from './additional-wraps.js';
import type { DataKey } from './data-key.js';
import type { KeyringStore, StoredDataKey } from './keyring-store.interface.js';
import { subkeyOf } from './keyring-subkeys.js';
import type { MasterKeys } from './master-keys.js';
import { HeldTenantKeys } from './held-tenant-keys.js';
import type { KeyLookups } from './key-lookups.js';
import { RecentMisses } from './recent-misses.js';
import { TenantKeyRows } from './tenant-key-rows.js';
import { TenantKeySet, type TenantKeyMisses } from './tenant-key-set.js';
import type { TenantKeyStore } from './tenant-key-store.interface.js';
import type { TenantMasterKeys } from './tenant-master-keys.js';
import { tagOfTenantKeyId, tenantTag, tenantTagCheck } from './tenant-ids.js';

/**
 * Tenants' data keys: loaded on a tenant's first use (made then if it has none, once across
 * replicas), held in a bounded least-recently-used cache, rotated and destroyed per tenant.
 * Nothing is loaded at start-up. A tenant with a master key of its own has its keys wrapped
 * under it, and unwrapped again after `recheckAfterMs` so that its revocation takes hold.
 */
export class TenantKeys {
  private readonly held: HeldTenantKeys;
  private readonly loads = new Map<string, Promise<TenantKeySet>>();
  private readonly tagKey: Buffer;
  /**
   * Tenants (by tag) found without keys, and tenants' key ids a read did not find, moments ago:
   * not read again for those within MISS_REMEMBERED_MS, so envelopes naming unknown tenants or
   * forged key ids cannot turn into a database read (and, for a tenant under its own master
   * key, a call to its KMS) each. Forgotten when a key of the tenant is made here or heard of.
   */
  private readonly tenantsWithoutKeys: RecentMisses;
  private readonly keyMisses: TenantKeyMisses;
  /** Counts keys other replicas announced: a miss read before an announcement is not kept. */
  private announced = 0;
  /** Counts destructions (here, heard, or a resync): keys read before one are not held. */
  private destructions = 0;

  private readonly rows: TenantKeyRows;

  constructor(
    private readonly store: TenantKeyStore,
    private readonly masters: MasterKeys,
    wraps: AdditionalWraps,
    indexRoot: Buffer,
    private readonly now: () => number,
    /** The keyring's: how a key not found is refused, and which keys were heard destroyed. */
    private readonly lookups: Pick<KeyLookups, 'notFound' | 'destroyed'>,
    private readonly ownMasterKeys?: TenantMasterKeys,
  ) {
    this.held = new HeldTenantKeys();
    this.tagKey = subkeyOf(indexRoot, 'tenant-tags');
    this.tenantsWithoutKeys = new RecentMisses(now);
    this.keyMisses = { missing: new RecentMisses(now), notFound: (id) => lookups.notFound(id) };
    this.rows = new TenantKeyRows(store, masters, wraps, now, ownMasterKeys);
  }

  /** Tenants whose keys are in memory. */
  get size(): number {
    return this.held.size;
  }

  /** The tenant's keys if in memory (marked recently used), else an empty set that opens nothing. */
  inMemory(tenant: string): TenantKeySet {
    const set = this.held.get(tenant);
    return set === undefined || this.expired(set) ? this.emptySet(tenant) : this.used(set);
  }

  /** `set`, held and current, marked used (and its tenant's answer asked again when due). */
  private used(set: TenantKeySet): TenantKeySet {
    if (set.answerDueAt !== Infinity && set.answerDueAt <= this.now()) this.askAgain(set);
    this.held.touch(set);
    return set;
  }

  /**
   * The tenant's keys to open with: as of(tenant, false), except that a tenant found without
   * keys moments ago is answered, without reading, with a set that opens nothing. (Never for
   * a caller that may make keys: that set's master keys were not asked for.)
   */
  forOpening(tenant: string): TenantKeySet | Promise<TenantKeySet> {
    if (this.held.get(tenant) === undefined) {
      const tag = tenantTag(this.tagKey, tenant);
      if (this.tenantsWithoutKeys.has(tag)) {
        return new TenantKeySet(tenant, tag, () => Promise.resolve(), this.keyMisses);
      }
    }
    return this.of(tenant, false);
  }

  /**
   * The tenant's keys, loaded on first use. `create`: a tenant without keys gets its first one
   * (for sealing); otherwise it answers an empty set (opening needs no new key).
   */
  of(tenant: string, create: boolean): TenantKeySet | Promise<TenantKeySet> {
    const set = this.held.get(tenant);
    if (set !== undefined && !this.expired(set) && (set.hasActive || !create)) {
      return this.used(set);
    }
    let load = this.loads.get(tenant);
    if (!load) {
      load = this.load(tenant, create).finally(() => this.loads.delete(tenant));
      this.loads.set(tenant, load);
    }
    return load.then((loaded) => (loaded.hasActive || !create ? loaded : this.of(tenant, create)));
  }

  /** A new active key for the tenant (its first if it has none); the previous one keeps opening. */
  async rotate(tenant: string): Promise<DataKeyRotation> {
    let set = await this.of(tenant, false);
    if (await this.broughtOwnKey(set)) set = await this.of(tenant, false);
    for (;;) {
      const rotation = await this.rotateSet(set);
      if (rotation) return rotation;
      await this.rows.refresh(set);
    }
  }

  /**
   * As rotate, only while `activeId` is still the tenant's active key: null when another
   * replica rotated it first (its new key is read then), so replicas that find the same key due
   * make one new key.
   */
  async rotateIfActive(tenant: string, activeId: string): Promise<DataKeyRotation | null> {
    const set = this.held.get(tenant);
    if (set?.hasActive !== true || set.active.id !== activeId) return null;
    // Brought its own key since: rotated once it is loaded under it.
    if (await this.broughtOwnKey(set)) return null;
    const rotation = await this.rotateSet(set);
    if (!rotation) await this.rows.refresh(set);
    return rotation ?? null;
  }

  /**
   * The tenants in memory whose active key `due` finds due (with its answer), at most `limit`
   * of them: a tenant not in memory seals nothing, and is looked at once it is loaded again.
   */
  due<Reason>(
    due: (key: DataKey) => Reason | null,
    limit: number,
  ): { tenant: string; keyId: string; reason: Reason }[] {
    const found: { tenant: string; keyId: string; reason: Reason }[] = [];
    for (const set of this.held.values()) {
      if (found.length >= limit) break;
      // An expired set is unwrapped again (and looked at) on its next use.
      if (!set.hasActive || set.expiresAt <= this.now()) continue;
      const reason = due(set.active);
      if (reason !== null) found.push({ tenant: set.tenant, keyId: set.active.id, reason });
    }
    return found;
  }

  /** Adds the tenants' keys' pending encryption counts to the store (see flushKeyUsage). */
  flushUsage(store: Pick<KeyringStore, 'addEncryptions'>): Promise<void> {
    return this.held.flushUsage(store);
  }

  private async rotateSet(set: TenantKeySet): Promise<DataKeyRotation | undefined> {
    const previous = set.hasActive ? set.active.id : null;
    const key = await this.rows.newKey(set, previous);
    if (!key) return undefined;
    this.tenantsWithoutKeys.delete(set.tag);
    this.held.hold(set.tenant, set).activate(key);
    return { keyId: key.id, previousKeyId: previous };
  }

  /** Deletes the tenant's keys for good (store, then memory); returns the ids deleted. */
  async destroy(tenant: string): Promise<string[]> {
    const tag = tenantTag(this.tagKey, tenant);
    const ids = await this.store.destroyTenantKeys(tag);
    this.destructions++;
    this.held.forget(tag);
    return ids;
  }

  /** See tenantTagCheck: names this keyring's tenant tag key. */
  get tagCheck(): string {
    return tenantTagCheck(this.tagKey);
  }

  /** Every tenant's stored keys, wrapped, with their tags (an export). */
  listStored(): Promise<{ readonly tag: string; readonly key: StoredDataKey }[]> {
    return this.store.listAllTenantKeys();
  }

  /** Ids of the tenant's stored keys (for counting what uses them before destroying them). */
  async storedKeyIds(tenant: string): Promise<string[]> {
    const rows = await this.store.listTenantKeys(tenantTag(this.tagKey, tenant));
    return rows.map((row) => row.id);
  }

  /**
   * The keys of the tenant with tag `tag` if in memory (re-encryption knows a tenant by the tag
   * in its key ids, never by its name), else undefined: see loadByTag.
   */
  heldByTag(tag: string): TenantKeySet | undefined {
    const set = this.held.ofTag(tag);
    return set === undefined || this.expired(set) ? undefined : set;
  }

  /**
   * The tenant's stored keys, read by tag and unwrapped under the keyring's master keys into a
   * set of their own that the cache does not hold: the caller counts its seals and zeroes it.
   * Never makes a key. A tenant under its own master key does not open here (its provider is
   * asked by tenant name): KeyringIntegrityError.
   */
  async loadByTag(tag: string): Promise<TenantKeySet> {
    const set = new TenantKeySet('', tag, (loaded) => this.rows.refresh(loaded));
    await this.rows.refresh(set);
    return set;
  }

  /** Another replica made `keyId` the tenant's active key: its keys are read again on next use. */
  heardRotated(keyId: string): void {
    const tag = tagOfTenantKeyId(keyId);
    if (tag === undefined) return;
    this.announced++;
    this.tenantsWithoutKeys.delete(tag);
    this.keyMisses.missing.delete(keyId);
    if (this.held.ofTag(tag)?.get(keyId) === undefined) this.held.forget(tag);
  }

  /** Another replica destroyed `keyId`: zeroed here (with its tenant's set, if it was active). */
  heardDestroyed(keyId: string): void {
    this.destructions++;
    this.lookups.destroyed(keyId);
    const tag = tagOfTenantKeyId(keyId);
    const set = tag === undefined ? undefined : this.held.ofTag(tag);
    if (set && !set.drop(keyId)) this.held.forget(set.tag);
  }

  /**
   * The material of a tenant key in memory, for additional wraps catching up: never that of a
   * tenant under its own master key, which the keyring's master keys must not open.
   */
  material(keyId: string): Buffer | undefined {
    const tag = tagOfTenantKeyId(keyId);
    const set = tag === undefined ? undefined : this.held.ofTag(tag);
    return set?.own === undefined ? set?.get(keyId)?.material : undefined;
  }

  /**
   * Zeroes the keys that tenants' own master keys unwrapped longer than `recheckAfterMs` ago
   * (they would be unwrapped again before any use): a revoked tenant's keys do not stay in
   * memory until its next call. Run by the scheduled check.
   */
  dropExpired(): void {
    for (const set of this.held.values()) this.expired(set);
  }

  /** Zeroes and drops every tenant's keys (shutdown, or a resync after lost notifications). */
  clear(): void {
    this.held.clear();
    // What was missed, and what is being read, may have changed unheard.
    this.tenantsWithoutKeys.clear();
    this.keyMisses.missing.clear();
    this.announced++;
    this.destructions++;
  }

  /** clear(), and the tag key zeroed: the keyring is closing. */
  close(): void {
    this.clear();
    this.tagKey.fill(0);
  }

  private emptySet(tenant: string): TenantKeySet {
    return new TenantKeySet(
      tenant,
      tenantTag(this.tagKey, tenant),
      (set) => this.rows.refresh(set),
      this.keyMisses,
    );
  }

  /**
   * Asks `providerFor` again, in the background, about a tenant held under the keyring's master
   * key: one that has brought its own key since is dropped, so that its next use loads it under
   * that key (and moves its keys there). Until asked, the held keys serve; the answer is asked
   * at most every `recheckAfterMs` per tenant, and costs no call to any KMS.
   */
  private askAgain(set: TenantKeySet): void {
    set.answerDueAt = Infinity;
    // The application's lookup failing leaves the held keys serving: asked again later.
    void this.broughtOwnKey(set)
      .catch(() => false)
      .then((brought) => {
        if (!brought) set.answerDueAt = this.now() + this.ownMasterKeys!.recheckAfterMs;
      });
  }

  /** Whether a tenant held under the keyring's master key has brought its own since: then dropped. */
  private async broughtOwnKey(set: TenantKeySet): Promise<boolean> {
    if (!this.ownMasterKeys || set.own !== undefined || set.leaving.length > 0) return false;
    const { own } = await this.ownMasterKeys.of(set.tenant, this.masters.current.fingerprint);
    // Still under the keyring's, or leaving its own for it: the held keys are where they belong.
    if (own === undefined) return false;
    if (this.held.ofTag(set.tag) === set) this.held.forget(set.tag);
    return true;
  }

  /** Whether keys its own master key unwrapped have been held too long: then dropped here. */
  private expired(set: TenantKeySet): boolean {
    if (set.expiresAt === Infinity || set.expiresAt > this.now()) return false;
    this.held.forget(set.tag);
    return true;
  }

  private async load(tenant: string, create: boolean): Promise<TenantKeySet> {
    let set = this.held.get(tenant);
    if (set === undefined) {
      set = this.emptySet(tenant);
      if (this.ownMasterKeys) {
        const { own, leaving } = await this.ownMasterKeys.of(
          tenant,
          this.masters.current.fingerprint,
        );
        set.own = own;
        set.leaving = leaving;
        // A tenant leaving its own key is rechecked too, until its keys are moved.
        if (own || leaving.length > 0) {
          set.expiresAt = this.now() + this.ownMasterKeys.recheckAfterMs;
        }
      }
    }
    const announcedBefore = this.announced;
    let destructionsBefore: number;
    do {
      // Keys read before a destruction that happened meanwhile are read again, never held.
      destructionsBefore = this.destructions;
      await this.rows.refresh(set);
      if (!set.hasActive && create) {
        const key = await this.rows.newKey(set, null);
        if (key) set.activate(key);
        else await this.rows.refresh(set);
      }
    } while (destructionsBefore !== this.destructions);
    if (set.keys.size === 0) {
      if (!create && announcedBefore === this.announced) this.tenantsWithoutKeys.add(set.tag);
      return set;
    }
    this.tenantsWithoutKeys.delete(set.tag);
    if (this.ownMasterKeys && set.own === undefined && set.answerDueAt === Infinity) {
      set.answerDueAt = this.now() + this.ownMasterKeys.recheckAfterMs;
    }
    return this.held.hold(tenant, set);
  }
}
