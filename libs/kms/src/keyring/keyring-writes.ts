import { InvalidExportError } from '../errors/invalid-export.error.js';
import { quotedInput } from '../errors/quoted-input.js';
import type { DataKeyRotation } from '../interfaces/data-key-rotation.interface.js';
import type { AdditionalWraps } from './additional-wraps.js';
import { heldDataKey, newDataKey, type DataKey } from './data-key.js';
import type { HeldKeys } from './held-keys.js';
import { freshImportedKeys } from './key-import.js';
import type { KeyringStore, StoredDataKey } from './keyring-store.interface.js';
import type { MasterKeys } from './master-keys.js';
import { isTenantKeyId } from './tenant-ids.js';

/**
 * What the keyring writes to its store: new active keys, encryption counts, imported keys.
 * Memory follows a write only once the store has it, and a key made but not stored is zeroed.
 */
export class KeyringWrites {
  private rotations: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly held: HeldKeys,
    private readonly masters: MasterKeys,
    private readonly store: KeyringStore,
    private readonly now: () => number,
    private readonly newKeyId: (creating: boolean) => string | undefined,
    private readonly wraps: AdditionalWraps,
    /** A key from memory or the store (Keyring.fetch). */
    private readonly fetch: (id: string) => Promise<DataKey>,
  ) {}

  /** Keyring.rotate: one at a time in this process, so memory switches keys in commit order. */
  rotate(ifActive?: string): Promise<DataKeyRotation | null> {
    const rotation = this.rotations.then(() => this.rotateNow(ifActive));
    this.rotations = rotation.catch(() => undefined);
    return rotation;
  }

  /** Keyring.flushUsage: the active key's total is read back even when it sealed nothing here. */
  flushUsage(): Promise<void> {
    return flushKeyUsage(this.held.list(), this.store, this.held.active);
  }

  /**
   * Keyring.importKeys: every refusal comes before anything is written. A tenant's key is never
   * taken as the keyring's (it would open that tenant's envelopes with no tenant named, and
   * bring back a tenant destroyed since the export).
   */
  async importKeys(rows: readonly StoredDataKey[]): Promise<string[]> {
    const tenantKey = rows.find((row) => isTenantKeyId(row.id));
    if (tenantKey) {
      throw new InvalidExportError(
        `data key ${quotedInput(tenantKey.id)} is a tenant's key, never imported as the keyring's`,
      );
    }
    const fresh = await freshImportedKeys(
      rows,
      (row) => this.masters.unwrap(row),
      (id) => this.fetch(id),
    );
    try {
      const stored: StoredDataKey[] = [];
      for (const { key, row } of fresh) {
        stored.push(await this.masters.storedUnderCurrent(row, key.material));
      }
      await this.store.insertRetired(stored, this.now());
    } catch (error) {
      for (const { key } of fresh) key.material.fill(0);
      throw error;
    }
    for (const { key } of fresh) {
      key.status = 'retired';
      this.held.adopt(key);
    }
    return [...new Set(fresh.map(({ key }) => key.id))];
  }

  private async rotateNow(ifActive: string | undefined): Promise<DataKeyRotation | null> {
    const { provider, fingerprint } = await this.masters.verifiedCurrent();
    const next = await newDataKey(provider, fingerprint, this.now(), this.newKeyId(false));
    let outcome;
    try {
      outcome = await this.store.rotate(next.stored, ifActive);
    } catch (error) {
      next.material.fill(0);
      throw error;
    }
    if (!outcome.rotated) {
      next.material.fill(0);
      await this.fetch(outcome.activeKeyId);
      return null;
    }
    const key = heldDataKey(next.stored, next.material);
    this.held.activate(key);
    await this.wraps.wrapNew(key);
    return { keyId: key.id, previousKeyId: outcome.previousKeyId };
  }
}

/** A key's encryption counts (a DataKey, or what is left of one dropped before its flush). */
export type KeyUsage = Pick<DataKey, 'id' | 'encryptions' | 'pendingEncryptions'>;

/**
 * Adds each key's pending encryption count to the store and keeps the total it answers (other
 * replicas count too); keys that sealed nothing are skipped, but for `readBack`. A failed write
 * keeps the count for the next flush.
 */
export async function flushKeyUsage(
  keys: Iterable<KeyUsage>,
  store: Pick<KeyringStore, 'addEncryptions'>,
  readBack?: KeyUsage,
): Promise<void> {
  for (const key of keys) {
    const count = key.pendingEncryptions;
    if (count === 0 && key !== readBack) continue;
    key.pendingEncryptions -= count;
    try {
      key.encryptions = await store.addEncryptions(key.id, count);
    } catch (error) {
      key.pendingEncryptions += count;
      throw error;
    }
  }
}
