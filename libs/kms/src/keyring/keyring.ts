import { timingSafeEqual } from 'node:crypto';
import { DataKeyNotFoundError } from '../errors/data-key-not-found.error.js';
import { KeyringIntegrityError } from '../errors/keyring-integrity.error.js';
import { MasterKeyMismatchError } from '../errors/master-key-mismatch.error.js';
import type { MasterKeyProvider } from '../master-key/master-key-provider.interface.js';
import { newDataKey, unwrapDataKey, type DataKey } from './data-key.js';
import type { KeyringStore, StoredDataKey } from './keyring-store.interface.js';

export interface Rotation {
  readonly keyId: string;
  readonly previousKeyId: string | null;
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
    private readonly provider: MasterKeyProvider,
    private readonly store: KeyringStore,
    readonly fingerprint: string,
    private readonly now: () => number,
  ) {}

  /**
   * Opens the keyring: checks the master key fingerprint against the stored one (a mismatch
   * throws before anything is written), creates the keyring with its first data key on the
   * first start, then loads and unwraps every key.
   */
  static async open(
    provider: MasterKeyProvider,
    store: KeyringStore,
    now: () => number = Date.now,
  ): Promise<{ keyring: Keyring; created: boolean }> {
    const fingerprint = await provider.fingerprint();
    const keyring = new Keyring(provider, store, fingerprint, now);
    let created = false;
    const stored = await store.readFingerprint();
    if (stored === null) {
      const first = await newDataKey(provider, fingerprint, now());
      first.material.fill(0);
      created = await store.createKeyring(fingerprint, first.stored);
      // Another process created the keyring between our read and our write: check its key.
      if (!created) return { keyring: await Keyring.openExisting(keyring), created };
    } else if (stored !== fingerprint) {
      throw new MasterKeyMismatchError(stored, fingerprint);
    }
    await keyring.reload();
    return { keyring, created };
  }

  private static async openExisting(keyring: Keyring): Promise<Keyring> {
    const stored = await keyring.store.readFingerprint();
    if (stored !== keyring.fingerprint) {
      throw new MasterKeyMismatchError(stored ?? '(none)', keyring.fingerprint);
    }
    await keyring.reload();
    return keyring;
  }

  /** The key new envelopes are written under. */
  get active(): DataKey {
    return this.activeKey;
  }

  get size(): number {
    return this.keys.size;
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
   * Makes a new data key active; the previous one stays for decryption. Rotations of this
   * process run one at a time, so memory switches keys in the order the database committed.
   */
  rotate(): Promise<Rotation> {
    const rotation = this.rotations.then(() => this.rotateNow());
    this.rotations = rotation.catch(() => undefined);
    return rotation;
  }

  private async rotateNow(): Promise<Rotation> {
    const next = await newDataKey(this.provider, this.fingerprint, this.now());
    let previousKeyId: string | null;
    try {
      previousKeyId = await this.store.rotate(next.stored);
    } catch (error) {
      next.material.fill(0);
      throw error;
    }
    for (const key of this.keys.values()) {
      if (key.status === 'active') key.status = 'retired';
    }
    const key: DataKey = {
      id: next.stored.id,
      material: next.material,
      status: 'active',
      createdAt: next.stored.createdAt,
    };
    this.keys.set(key.id, key);
    this.activeKey = key;
    return { keyId: key.id, previousKeyId };
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
      for (const row of keys) incoming.push(await unwrapDataKey(this.provider, row));
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
      await this.store.insertRetired(
        keys.filter((row) => freshIds.has(row.id)),
        this.now(),
      );
      for (const key of fresh) this.keys.set(key.id, { ...key, status: 'retired' });
      for (const key of incoming) if (!freshIds.has(key.id)) key.material.fill(0);
      return [...freshIds];
    } catch (error) {
      for (const key of incoming) key.material.fill(0);
      throw error;
    }
  }

  /** Zeroes every key in memory. The keyring is unusable afterwards. */
  destroy(): void {
    for (const key of this.keys.values()) key.material.fill(0);
    this.keys.clear();
  }

  private async reload(): Promise<void> {
    const rows = await this.store.listKeys();
    const loaded = new Map<string, DataKey>();
    let active: DataKey | undefined;
    try {
      for (const row of rows) {
        const key = await unwrapDataKey(this.provider, row);
        loaded.set(key.id, key);
        if (key.status === 'active') active = key;
      }
    } catch (error) {
      for (const key of loaded.values()) key.material.fill(0);
      throw error;
    }
    if (!active) throw new KeyringIntegrityError('(none)', 'the keyring has no active data key');
    this.destroy();
    for (const [id, key] of loaded) this.keys.set(id, key);
    this.activeKey = active;
  }

  private async lookUp(id: string): Promise<DataKey> {
    const row = await this.store.findKey(id);
    if (!row) {
      if (this.missing.size >= MISSING_MAX) this.missing.clear();
      this.missing.set(id, this.now());
      throw new DataKeyNotFoundError(id);
    }
    const key = await unwrapDataKey(this.provider, row);
    this.keys.set(key.id, key);
    if (key.status === 'active' && key.createdAt > this.activeKey.createdAt) {
      // Another replica rotated: write under its key from now on.
      this.activeKey.status = 'retired';
      this.activeKey = key;
    }
    return key;
  }
}
