import { MasterKeyMismatchError } from '../errors/master-key-mismatch.error.js';
import { MasterKeyUnavailableError } from '../errors/master-key-unavailable.error.js';
import type { AdditionalWraps } from './additional-wraps.js';
import { heldDataKey, newDataKey, unwrapDataKey, type DataKey } from './data-key.js';
import type { StoredDataKey } from './keyring-store.interface.js';
import { keysOfRows } from './keys-of-rows.js';
import type { MasterKey, MasterKeys } from './master-keys.js';
import type { TenantKeySet } from './tenant-key-set.js';
import type { TenantKeyStore } from './tenant-key-store.interface.js';
import type { TenantMasterKeys } from './tenant-master-keys.js';
import { newTenantKeyId } from './tenant-ids.js';

/**
 * A tenant's stored keys, for TenantKeys: read and unwrapped into its set (by the tenant's own
 * master key where one wraps them, else the keyring's), moved under the tenant's own master key
 * where it has one, and a new active key made and stored.
 */
export class TenantKeyRows {
  constructor(
    private readonly store: TenantKeyStore,
    private readonly masters: MasterKeys,
    private readonly wraps: AdditionalWraps,
    private readonly now: () => number,
    private readonly ownMasterKeys?: TenantMasterKeys,
  ) {}

  /** Reads the tenant's stored keys into `set`, unwrapping only those it does not hold. */
  async refresh(set: TenantKeySet): Promise<void> {
    const rows = await this.store.listTenantKeys(set.tag);
    const keys = await keysOfRows(rows, set.keys, (row) => this.unwrap(set, row));
    set.replace(
      keys,
      rows.map((row) => row.status),
    );
    if (set.own) {
      const current = set.own[0];
      const notUnderCurrent = (row: StoredDataKey) =>
        row.masterKeyFingerprint !== current.fingerprint;
      await this.move(rows, keys, async () => current, notUnderCurrent);
    } else if (set.leaving.length > 0) {
      const leaving = new Set(set.leaving.map((key) => key.fingerprint));
      const isLeaving = (row: StoredDataKey) => leaving.has(row.masterKeyFingerprint);
      const moved = rows.some(isLeaving)
        ? await this.move(rows, keys, () => this.masters.verifiedCurrent(), isLeaving)
        : [];
      if (rows.every((row) => !isLeaving(row) || moved.includes(row.id))) {
        // Every key is the keyring's now: the tenant's key is needed, and rechecked, no more.
        set.leaving = [];
        set.expiresAt = Infinity;
      }
    }
  }

  /**
   * A tenant's stored key, unwrapped by the tenant's own master key that wrapped it (one it
   * has, or one it is leaving), else the keyring's.
   */
  private unwrap(set: TenantKeySet, row: StoredDataKey): Promise<DataKey> {
    const byFingerprint = (key: MasterKey) => key.fingerprint === row.masterKeyFingerprint;
    const master = set.own?.find(byFingerprint) ?? set.leaving.find(byFingerprint);
    return master ? unwrapDataKey(master.provider, row) : this.masters.unwrap(row);
  }

  /**
   * Re-wraps under `target` each of the tenant's keys `toMove` selects (returns the ids moved):
   * - under the tenant's current own master key, its keys still under another (the keyring's,
   *   from before the tenant brought its key, or an own key it moves away from), their wraps
   *   under the keyring's additional master keys deleted, so that the tenant's key alone
   *   opens them;
   * - under the keyring's master key, the keys of a tenant leaving its own (wrapped under the
   *   keyring's additional master keys too, as the keyring's keys are).
   * Not in a replica region (it receives the moved rows). The keys opened already: a target
   * that cannot be reached now, or a keyring master key rotated by another replica meanwhile,
   * leaves the move to the next load instead of failing the call.
   */
  private async move(
    rows: readonly StoredDataKey[],
    keys: readonly DataKey[],
    target: () => Promise<MasterKey>,
    toMove: (row: StoredDataKey) => boolean,
  ): Promise<string[]> {
    if (!this.ownMasterKeys?.writable) return [];
    const moved: string[] = [];
    let to: MasterKey | undefined;
    try {
      to = await target();
      const underKeyring = to.fingerprint === this.masters.current.fingerprint;
      for (const [at, row] of rows.entries()) {
        if (!toMove(row)) continue;
        const wrappedKey = await to.provider.wrapDataKey(keys[at].material, row.id);
        const wrap = { wrappedKey, masterKeyFingerprint: to.fingerprint };
        if (!(await this.store.rewrapTenantKey(row, wrap, !underKeyring))) continue;
        moved.push(row.id);
        if (underKeyring) await this.wraps.wrapNew(keys[at]);
      }
    } catch (error) {
      const leftToNextLoad =
        error instanceof MasterKeyUnavailableError || error instanceof MasterKeyMismatchError;
      if (!leftToNextLoad) throw error;
    }
    if (to !== undefined && moved.length > 0) this.ownMasterKeys.rewrapped(moved, to.fingerprint);
    return moved;
  }

  /**
   * A new active key for the tenant, stored only while `expectedActiveId` is still its active
   * key; undefined (nothing kept) when another process stored one first. It is made after every
   * key the set holds, whatever this machine's clock says, so the tenant's first key stays its
   * oldest (its subkeys derive from it).
   */
  async newKey(set: TenantKeySet, expectedActiveId: string | null): Promise<DataKey | undefined> {
    const { provider, fingerprint } = set.own?.[0] ?? (await this.masters.verifiedCurrent());
    const createdAt = Math.max(this.now(), set.newestCreatedAt + 1);
    const next = await newDataKey(provider, fingerprint, createdAt, newTenantKeyId(set.tag));
    let stored: boolean;
    try {
      stored = await this.store.storeTenantKey(
        set.tag,
        next.stored,
        expectedActiveId,
        set.own !== undefined,
      );
    } catch (error) {
      next.material.fill(0);
      throw error;
    }
    if (!stored) {
      next.material.fill(0);
      return undefined;
    }
    const key = heldDataKey(next.stored, next.material);
    // The keyring's additional master keys must not open a key the tenant's own master key wraps.
    if (!set.own) await this.wraps.wrapNew(key);
    return key;
  }
}
