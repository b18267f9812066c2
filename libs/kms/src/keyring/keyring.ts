import { timingSafeEqual } from 'node:crypto';
import { DataKeyNotFoundError } from '../errors/data-key-not-found.error.js';
import { KeyringIntegrityError } from '../errors/keyring-integrity.error.js';
import { MasterKeyMismatchError } from '../errors/master-key-mismatch.error.js';
import { quotedInput } from '../errors/quoted-input.js';
import type { DataKeyRotation } from '../interfaces/data-key-rotation.interface.js';
import type { MasterKeyProvider } from '../master-key/master-key-provider.interface.js';
import { newDataKey, unwrapDataKey, type DataKey } from './data-key.js';
import type { KeyringStore, StoredDataKey } from './keyring-store.interface.js';

/** A master key and its fingerprint. */
export interface MasterKey {
  readonly provider: MasterKeyProvider;
  readonly fingerprint: string;
}

/** The master key the keyring moved from and to at open, when it finished a master-key rotation. */
export interface MasterKeyRotation {
  readonly from: string;
  readonly to: string;
  /** Data keys re-wrapped by this process; null when another process had done it. */
  readonly rewrapped: number | null;
}

/** How long an id that the database did not have is answered from memory (bounds DB reads for junk ids). */
const MISSING_TTL_MS = 5_000;
const MISSING_MAX = 1_024;

/**
 * All data keys, unwrapped, in memory; exactly one active. The hot path reads `active` and
 * `get(id)` without touching the database.
 */
export class Keyring {
  private readonly keys = new Map<string, DataKey>();
  private activeKey!: DataKey;
  private readonly lookups = new Map<string, Promise<DataKey>>();
  private readonly missing = new Map<string, number>();
  private rotations: Promise<unknown> = Promise.resolve();

  private constructor(
    private master: MasterKey,
    /** A master key this process also holds (KMS_MASTER_KEY_PREVIOUS): rows it wrapped still open. */
    private readonly previous: MasterKey | undefined,
    private readonly store: KeyringStore,
    private readonly now: () => number,
    /** The id of a new data key; `creating` for the first key of a new keyring. */
    private readonly newKeyId: (creating: boolean) => string | undefined,
  ) {}

  /**
   * Opens the keyring: checks the master key fingerprint against the stored one (a mismatch
   * throws before anything is written), creates the keyring with its first data key on the
   * first start, finishes a master-key rotation when the stored fingerprint is `previous`'s,
   * then loads and unwraps every key.
   */
  static async open(
    provider: MasterKeyProvider,
    store: KeyringStore,
    options: {
      previous?: MasterKeyProvider;
      now?: () => number;
      newKeyId?: (creating: boolean) => string;
    } = {},
  ): Promise<{ keyring: Keyring; created: boolean; masterKeyRotation: MasterKeyRotation | null }> {
    const master = { provider, fingerprint: await provider.fingerprint() };
    const previous = options.previous
      ? { provider: options.previous, fingerprint: await options.previous.fingerprint() }
      : undefined;
    const keyring = new Keyring(
      master,
      previous,
      store,
      options.now ?? Date.now,
      options.newKeyId ?? (() => undefined),
    );
    let created = false;
    let masterKeyRotation: MasterKeyRotation | null = null;
    const stored = await store.readFingerprint();
    if (stored === null) {
      const first = await newDataKey(
        provider,
        master.fingerprint,
        keyring.now(),
        keyring.newKeyId(true),
      );
      first.material.fill(0);
      created = await store.createKeyring(master.fingerprint, first.stored);
      // Another process created the keyring between our read and our write: check its key.
      const winner = created ? master.fingerprint : await store.readFingerprint();
      if (winner !== master.fingerprint) {
        throw new MasterKeyMismatchError(winner ?? '(none)', master.fingerprint);
      }
    } else if (stored !== master.fingerprint) {
      if (!previous || stored !== previous.fingerprint) {
        throw new MasterKeyMismatchError(stored, master.fingerprint);
      }
      const rewrapped = await keyring.rewrapAll(previous, master);
      masterKeyRotation = { from: previous.fingerprint, to: master.fingerprint, rewrapped };
    }
    await keyring.reload();
    return { keyring, created, masterKeyRotation };
  }

  /** The master key data keys are wrapped under from now on. */
  get masterKey(): MasterKey {
    return this.master;
  }

  get fingerprint(): string {
    return this.master.fingerprint;
  }

  /** The master key with this fingerprint, if this process holds it (current or previous). */
  heldMasterKey(fingerprint: unknown): MasterKey | undefined {
    if (fingerprint === this.master.fingerprint) return this.master;
    if (this.previous && fingerprint === this.previous.fingerprint) return this.previous;
    return undefined;
  }

  /** The key new envelopes are written under. */
  get active(): DataKey {
    return this.activeKey;
  }

  get size(): number {
    return this.keys.size;
  }

  /** Every key in memory (for status and re-encryption: which ids are retired). */
  list(): IterableIterator<DataKey> {
    return this.keys.values();
  }

  /** A key already in memory, or undefined. */
  get(id: string): DataKey | undefined {
    return this.keys.get(id);
  }

  /**
   * A key not in memory: another replica may have rotated, so the database is asked once
   * (concurrent callers share the read) before DataKeyNotFoundError.
   */
  fetch(id: string): Promise<DataKey> {
    const known = this.keys.get(id);
    if (known) return Promise.resolve(known);
    const missedAt = this.missing.get(id);
    if (missedAt !== undefined && this.now() - missedAt < MISSING_TTL_MS) {
      return Promise.reject(new DataKeyNotFoundError(id));
    }
    let lookup = this.lookups.get(id);
    if (!lookup) {
      lookup = this.lookUp(id).finally(() => this.lookups.delete(id));
      this.lookups.set(id, lookup);
    }
    return lookup;
  }

  /**
   * Makes a new data key active; the previous one stays for decryption. With `ifActive`, only
   * when that key is still the active one in the database: replicas that decide together to
   * rotate the same key make one new key, and the others adopt it (null is returned to them).
   * Rotations of this process run one at a time, so memory switches keys in commit order.
   */
  rotate(ifActive?: string): Promise<DataKeyRotation | null> {
    const rotation = this.rotations.then(() => this.rotateNow(ifActive));
    this.rotations = rotation.catch(() => undefined);
    return rotation;
  }

  /**
   * Master-key rotation while running: re-wraps every stored data key under `next` in one
   * transaction, then uses `next` from now on. The caller releases the old provider.
   */
  async rotateMasterKey(next: MasterKeyProvider): Promise<MasterKeyRotation> {
    const target = { provider: next, fingerprint: await next.fingerprint() };
    const from = this.master;
    const rewrapped = await this.rewrapAll(from, target);
    this.master = target;
    return { from: from.fingerprint, to: target.fingerprint, rewrapped };
  }

  /**
   * Adds this process's pending encryption counts to the store, and reads back the active key's
   * total (other replicas count too). A failed write keeps the counts for the next flush.
   */
  async flushUsage(): Promise<void> {
    for (const key of this.keys.values()) {
      const count = key.pendingEncryptions;
      if (count === 0 && key !== this.activeKey) continue;
      key.pendingEncryptions -= count;
      try {
        key.encryptions = await this.store.addEncryptions(key.id, count);
      } catch (error) {
        key.pendingEncryptions += count;
        throw error;
      }
    }
  }

  /**
   * Reloads every key from the store (after a lost notification connection, or when another
   * replica re-wrapped them). Keys still present keep their in-memory object.
   */
  async reload(): Promise<void> {
    const rows = await this.store.listKeys();
    const loaded = new Map<string, DataKey>();
    let active: DataKey | undefined;
    try {
      for (const row of rows) {
        const held = this.keys.get(row.id);
        const key = held ?? (await this.unwrap(row));
        key.status = row.status;
        loaded.set(key.id, key);
        if (key.status === 'active') active = key;
      }
    } catch (error) {
      for (const key of loaded.values()) if (!this.keys.has(key.id)) key.material.fill(0);
      throw error;
    }
    if (!active) throw new KeyringIntegrityError('(none)', 'the keyring has no active data key');
    for (const [id, key] of this.keys) if (!loaded.has(id)) key.material.fill(0);
    this.keys.clear();
    for (const [id, key] of loaded) this.keys.set(id, key);
    this.activeKey = active;
  }

  /** Destroys a retired key for good: the store row, then memory. False if no such retired key. */
  async destroyKey(id: string): Promise<boolean> {
    const deleted = await this.store.deleteRetired(id);
    if (deleted) this.forget(id);
    return deleted;
  }

  /** Drops a key another replica destroyed. */
  forget(id: string): void {
    const key = this.keys.get(id);
    if (!key || key === this.activeKey) return;
    key.material.fill(0);
    this.keys.delete(id);
  }

  /** The stored (wrapped) form of every data key, for an export. */
  exportKeys(): Promise<StoredDataKey[]> {
    return this.store.listKeys();
  }

  /**
   * Adds data keys exported from a keyring under the same master key, as retired keys. Each
   * must unwrap here (its id bound in); an id already held must carry the same key. Any
   * refusal comes before anything is written. Returns the ids added.
   */
  async importKeys(keys: readonly StoredDataKey[]): Promise<string[]> {
    const incoming: DataKey[] = [];
    try {
      for (const row of keys) incoming.push(await this.unwrap(row));
      const fresh: DataKey[] = [];
      for (const key of incoming) {
        // A key another replica holds joins this keyring as any looked-up key does.
        const held = await this.fetch(key.id).catch((error: unknown) => {
          if (error instanceof DataKeyNotFoundError) return undefined;
          throw error;
        });
        if (!held) fresh.push(key);
        else if (!timingSafeEqual(held.material, key.material)) {
          throw new KeyringIntegrityError(
            key.id,
            'the imported key differs from the stored key of the same id',
          );
        }
      }
      const freshIds = new Set(fresh.map((key) => key.id));
      const rows: StoredDataKey[] = [];
      for (const [i, row] of keys.entries()) {
        if (!freshIds.has(row.id)) continue;
        // A backup from before a master-key rotation: stored under the current key, as all are.
        rows.push(
          row.masterKeyFingerprint === this.master.fingerprint
            ? row
            : {
                ...row,
                wrappedKey: await this.master.provider.wrapDataKey(incoming[i].material, row.id),
                masterKeyFingerprint: this.master.fingerprint,
              },
        );
      }
      await this.store.insertRetired(rows, this.now());
      for (const key of fresh) {
        key.status = 'retired';
        this.keys.set(key.id, key);
      }
      for (const key of incoming) if (!freshIds.has(key.id)) key.material.fill(0);
      return [...freshIds];
    } catch (error) {
      for (const key of incoming) if (!this.keys.has(key.id)) key.material.fill(0);
      throw error;
    }
  }

  /** Zeroes every key in memory. The keyring is unusable afterwards. */
  destroy(): void {
    for (const key of this.keys.values()) key.material.fill(0);
    this.keys.clear();
  }

  private async rotateNow(ifActive: string | undefined): Promise<DataKeyRotation | null> {
    const next = await newDataKey(
      this.master.provider,
      this.master.fingerprint,
      this.now(),
      this.newKeyId(false),
    );
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
    for (const key of this.keys.values()) {
      if (key.status === 'active') key.status = 'retired';
    }
    const key: DataKey = {
      id: next.stored.id,
      material: next.material,
      status: 'active',
      createdAt: next.stored.createdAt,
      encryptions: 0,
      pendingEncryptions: 0,
    };
    this.keys.set(key.id, key);
    this.activeKey = key;
    return { keyId: key.id, previousKeyId: outcome.previousKeyId };
  }

  private rewrapAll(from: MasterKey, to: MasterKey): Promise<number | null> {
    return this.store.rewrapAll(from.fingerprint, to.fingerprint, async (row) => {
      const key = await unwrapDataKey(from.provider, row);
      try {
        return await to.provider.wrapDataKey(key.material, row.id);
      } finally {
        key.material.fill(0);
      }
    });
  }

  /** Unwraps with whichever held master key wrapped the row. */
  private unwrap(row: StoredDataKey): Promise<DataKey> {
    if (row.masterKeyFingerprint === this.master.fingerprint) {
      return unwrapDataKey(this.master.provider, row);
    }
    if (this.previous && row.masterKeyFingerprint === this.previous.fingerprint) {
      return unwrapDataKey(this.previous.provider, row);
    }
    return Promise.reject(
      new KeyringIntegrityError(
        row.id,
        `it is wrapped under master key ${quotedInput(row.masterKeyFingerprint)}, which this process does not hold (restart it with the current KMS_MASTER_KEY)`,
      ),
    );
  }

  private async lookUp(id: string): Promise<DataKey> {
    const row = await this.store.findKey(id);
    if (!row) {
      if (this.missing.size >= MISSING_MAX) this.missing.clear();
      this.missing.set(id, this.now());
      throw new DataKeyNotFoundError(id);
    }
    const key = await this.unwrap(row);
    this.keys.set(key.id, key);
    if (key.status === 'active' && key !== this.activeKey) {
      // Another replica rotated (the database holds one active key): write under it from now on.
      this.activeKey.status = 'retired';
      this.activeKey = key;
    }
    return key;
  }
}
