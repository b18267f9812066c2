import { KeyringIntegrityError } from '../errors/keyring-integrity.error.js';
import type { DataKeyRotation } from '../interfaces/data-key-rotation.interface.js';
import type { MasterKeyProvider } from '../master-key/master-key-provider.interface.js';
import { MasterKeyMismatchError } from '../errors/master-key-mismatch.error.js';
import { unwrapsTo, type DataKey } from './data-key.js';
import { HeldKeys } from './held-keys.js';
import { AdditionalWraps, heldAdditionalMasterKeys } from './additional-wraps.js';
import { INDEX_ROOT_KEY_ID, loadIndexRootKey } from './index-root-key.js';
import { KeyLookups } from './key-lookups.js';
import type { KeySource } from './key-source.js';
import { keysOfRows } from './keys-of-rows.js';
import {
  prepareKeyring,
  primaryMasterKey,
  type KeyringOpening,
  type KeyringOptions,
} from './keyring-opening.js';
import type { KeyringStore, StoredDataKey } from './keyring-store.interface.js';
import { masterKeyOf, MasterKeys, type MasterKey, type MasterKeyRotation } from './master-keys.js';
import { isTenantKeyId } from './tenant-ids.js';
import { KeyringWrites } from './keyring-writes.js';
import { TenantKeys } from './tenant-keys.js';
import { TenantRewrapKeys } from './tenant-rewrap-keys.js';
import type { TenantMasterKeys } from './tenant-master-keys.js';
import { KmsConfigurationError } from '../errors/kms-configuration.error.js';

export type { MasterKey, MasterKeyRotation } from './master-keys.js';

/**
 * All data keys, unwrapped, in memory (HeldKeys); exactly one active. The hot path reads
 * `active` and `get(id)` without touching the database. Rotation, usage counts and imports
 * write to the store through KeyringWrites; reads of keys not held go through KeyLookups.
 */
export class Keyring implements KeySource {
  readonly forTenant = false;
  private readonly held = new HeldKeys();
  private readonly tenantKeys: TenantKeys | undefined;
  private readonly lookups: KeyLookups;
  private readonly additionalWraps: AdditionalWraps;
  private readonly writes: KeyringWrites;

  private constructor(
    private readonly masters: MasterKeys,
    private readonly store: KeyringStore,
    now: () => number,
    newKeyId: (creating: boolean) => string | undefined,
    private readonly indexRoot: Buffer,
    replica: boolean,
    tenantMasterKeys: TenantMasterKeys | undefined,
  ) {
    this.lookups = new KeyLookups(store, now, (row) => this.adopt(row), replica);
    masters.checkPrimaryWith((primary) => this.checkPrimary(primary));
    this.additionalWraps = new AdditionalWraps(
      masters,
      store,
      (id) =>
        id === INDEX_ROOT_KEY_ID
          ? this.indexRoot
          : (this.held.get(id)?.material ?? this.tenantKeys?.material(id)),
      (id) => this.unwrapStoredTenantKey(id),
    );
    this.writes = new KeyringWrites(
      this.held,
      masters,
      store,
      now,
      newKeyId,
      this.additionalWraps,
      (id) => this.fetch(id),
    );
    this.tenantKeys = store.tenantKeys
      ? new TenantKeys(
          store.tenantKeys,
          masters,
          this.additionalWraps,
          indexRoot,
          now,
          this.lookups,
          tenantMasterKeys,
        )
      : undefined;
  }

  /** The material of a key in memory, for the usual envelope's fast path. */
  readonly materialOf = this.held.materialOf;

  /** The keyring's own keys never open a tenant's envelope. */
  owns(id: string): boolean {
    return !isTenantKeyId(id);
  }

  /** Whether this keyring's store keeps tenants' keys. */
  get hasTenantKeys(): boolean {
    return this.tenantKeys !== undefined;
  }

  /** Tenants' data keys, loaded per tenant on first use. */
  get tenants(): TenantKeys {
    if (!this.tenantKeys) {
      throw new KmsConfigurationError('this keyring store keeps no tenant keys');
    }
    return this.tenantKeys;
  }

  /** Tenants' keys by tag for one re-encryption run; undefined where the store keeps none. */
  tenantRewrapKeys(): TenantRewrapKeys | undefined {
    return this.tenantKeys && new TenantRewrapKeys(this.tenantKeys, this.store);
  }

  /**
   * Opens the keyring (see prepareKeyring: the master key is checked before anything is
   * written, and the keyring is created on the first start), then loads and unwraps every key.
   */
  static async open(
    provider: MasterKeyProvider,
    store: KeyringStore,
    options: KeyringOptions = {},
  ): Promise<{ keyring: Keyring } & KeyringOpening> {
    const { current, verified } = await primaryMasterKey(provider, store, options);
    const previous = options.previous ? await masterKeyOf(options.previous) : undefined;
    const additional = await heldAdditionalMasterKeys(current, options.additional ?? []);
    const masters = new MasterKeys(current, previous, store, additional, verified);
    const now = options.now ?? Date.now;
    const newKeyId = options.newKeyId ?? (() => undefined);
    const { assertWritable } = options;
    const opening = await prepareKeyring(masters, store, now, newKeyId, assertWritable);
    const indexRoot = await loadIndexRootKey(masters, store, assertWritable);
    // Only a replica region opens read-only: its keys arrive by replication, possibly late.
    const replica = assertWritable !== undefined;
    const keyring = new Keyring(
      masters,
      store,
      now,
      newKeyId,
      indexRoot,
      replica,
      options.tenantMasterKeys,
    );
    try {
      await keyring.reload();
      await keyring.wraps.check(keyring.active);
      if (!assertWritable) await keyring.wraps.catchUp();
    } catch (error) {
      keyring.destroy();
      throw error;
    }
    return { keyring, ...opening };
  }

  /**
   * The keyring's blind-index root key (the same in every process, under every master key).
   * Derive from it; never keep or log it.
   */
  get indexRootKey(): Buffer {
    return this.indexRoot;
  }

  /** The master key data keys are wrapped under from now on. */
  get masterKey(): MasterKey {
    return this.masters.current;
  }

  get fingerprint(): string {
    return this.masters.current.fingerprint;
  }

  /**
   * False while the primary master key has not answered since the keyring opened without it
   * (it could not be reached; an additional master key opened the keyring).
   */
  get primaryVerified(): boolean {
    return this.masters.primaryVerified;
  }

  /** The keyring's additional master keys this process holds, in unwrapping order. */
  get additionalMasterKeys(): readonly MasterKey[] {
    return this.masters.additional;
  }

  /** The wraps of every key under the additional master keys: catch-up, listing, removal. */
  get wraps(): AdditionalWraps {
    return this.additionalWraps;
  }

  /** The master key with this fingerprint, if this process holds it (current or previous). */
  heldMasterKey(fingerprint: unknown): MasterKey | undefined {
    return this.masters.held(fingerprint);
  }

  /** The key new envelopes are written under. */
  get active(): DataKey {
    return this.held.active;
  }

  get size(): number {
    return this.held.size;
  }

  /** Every key in memory (for status and re-encryption: which ids are retired). */
  list(): IterableIterator<DataKey> {
    return this.held.list();
  }

  /** A key already in memory, or undefined. */
  get(id: string): DataKey | undefined {
    return this.held.get(id);
  }

  /**
   * A key not in memory: another replica may have rotated, so the database is asked once
   * (concurrent callers share the read) before DataKeyNotFoundError; in a replica region,
   * DataKeyNotReplicatedError (retryable) unless the key was heard destroyed.
   */
  fetch(id: string): Promise<DataKey> {
    const known = this.held.get(id);
    return known ? Promise.resolve(known) : this.lookups.find(id);
  }

  /** A key another replica (or the replication apply) announced: loaded even after a recent miss. */
  heardOf(id: string): Promise<DataKey> {
    const known = this.held.get(id);
    return known ? Promise.resolve(known) : this.lookups.find(id, true);
  }

  /**
   * Makes a new data key active; the previous one stays for decryption. With `ifActive`, only
   * when that key is still the active one in the database: replicas that decide together to
   * rotate the same key make one new key, and the others adopt it (null is returned to them).
   * Rotations of this process run one at a time, so memory switches keys in commit order.
   */
  rotate(ifActive?: string): Promise<DataKeyRotation | null> {
    return this.writes.rotate(ifActive);
  }

  /**
   * Master-key rotation while running: re-wraps every stored data key under `next` in one
   * transaction, then uses `next` from now on. The caller releases the old provider.
   */
  rotateMasterKey(next: MasterKeyProvider): Promise<MasterKeyRotation> {
    return this.masters.rotate(next);
  }

  /**
   * Adds this process's pending encryption counts to the store, the tenants' keys' included, and
   * reads back the active key's total (other replicas count too). A failed write keeps the
   * counts for the next flush.
   */
  async flushUsage(): Promise<void> {
    await this.writes.flushUsage();
    await this.tenantKeys?.flushUsage(this.store);
  }

  /**
   * Reloads every key from the store (after a lost notification connection, or when another
   * replica re-wrapped them). Keys still present keep their in-memory object.
   */
  async reload(): Promise<void> {
    const rows = await this.store.listKeys();
    const unwrapped = await keysOfRows(rows, this.held.byId, (row) => this.masters.unwrap(row));
    const loaded = new Map<string, DataKey>();
    let active: DataKey | undefined;
    rows.forEach((row, at) => {
      const key = unwrapped[at];
      key.status = row.status;
      loaded.set(key.id, key);
      if (key.status === 'active') active = key;
    });
    if (!active) throw new KeyringIntegrityError('(none)', 'the keyring has no active data key');
    for (const id of this.held.replace(loaded, active)) this.lookups.destroyed(id);
    // Tenants' keys may have been destroyed meanwhile: each is read again on its next use.
    this.tenantKeys?.clear();
  }

  /** Destroys a retired key for good: the store row, then memory. False if no such retired key. */
  async destroyKey(id: string): Promise<boolean> {
    const deleted = await this.store.deleteRetired(id);
    if (deleted) this.forget(id);
    return deleted;
  }

  /** Drops a key another replica destroyed. */
  forget(id: string): void {
    this.lookups.destroyed(id);
    this.held.forget(id);
  }

  /** The stored (wrapped) form of every data key, for an export. */
  exportKeys(): Promise<StoredDataKey[]> {
    return this.store.listKeys();
  }

  /**
   * Adds data keys exported from a keyring under a master key this process holds, as retired
   * keys stored under the current one. Any refusal (see freshImportedKeys) comes before
   * anything is written. Returns the ids added.
   */
  importKeys(rows: readonly StoredDataKey[]): Promise<string[]> {
    return this.writes.importKeys(rows);
  }

  /** Zeroes every key in memory. The keyring is unusable afterwards. */
  destroy(): void {
    this.held.clear();
    this.tenantKeys?.close();
    this.indexRoot.fill(0);
  }

  /**
   * A stored key's material, unwrapped by the master key that wrapped it (one this process
   * holds, or an additional one): an export's key, for one use. The caller zeroes it.
   */
  unwrapRow(row: StoredDataKey): Promise<DataKey> {
    return this.masters.unwrap(row);
  }

  /**
   * A tenant's key not in memory, unwrapped from its row (additional wraps catching up); none
   * for a row the keyring's master key does not wrap (moved under its tenant's own meanwhile).
   */
  private async unwrapStoredTenantKey(id: string): Promise<Buffer | undefined> {
    const row = isTenantKeyId(id) ? await this.store.tenantKeys?.findTenantKey(id) : undefined;
    if (!row || !this.masters.held(row.masterKeyFingerprint)) return undefined;
    return (await this.masters.unwrap(row)).material;
  }

  /**
   * A primary master key known until now only by its stored fingerprint must open its own wrap
   * of the active data key, to the key in memory: another key under that name never wraps a
   * new key.
   */
  private async checkPrimary(primary: MasterKey): Promise<void> {
    const row = await this.store.findKey(this.held.active.id);
    if (row?.masterKeyFingerprint !== primary.fingerprint) return;
    if (!(await unwrapsTo(primary.provider, row.wrappedKey, row.id, this.held.active.material))) {
      throw new MasterKeyMismatchError(
        primary.fingerprint,
        `another key named ${primary.fingerprint} (it does not open the keyring's wraps)`,
      );
    }
  }

  /** A key the store had and memory did not: held from now on. */
  private async adopt(row: StoredDataKey): Promise<DataKey> {
    const key = await this.masters.unwrap(row);
    this.held.adopt(key);
    return key;
  }
}
