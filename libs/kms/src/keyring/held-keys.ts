import type { DataKey } from './data-key.js';
import { assertKeyOwner } from './tenant-ids.js';

/**
 * The keyring's own data keys in memory, unwrapped, exactly one of them active. Every key it
 * lets go of is zeroed first: it is the only holder of their material.
 */
export class HeldKeys {
  private readonly keys = new Map<string, DataKey>();
  private activeKey!: DataKey;

  /** The material of a key in memory, for the usual envelope's fast path. */
  readonly materialOf = (keyId: string): Buffer | undefined => this.keys.get(keyId)?.material;

  get active(): DataKey {
    return this.activeKey;
  }

  get size(): number {
    return this.keys.size;
  }

  list(): IterableIterator<DataKey> {
    return this.keys.values();
  }

  get(id: string): DataKey | undefined {
    return this.keys.get(id);
  }

  /** The keys by id, to read (a reload keeps the objects of keys still present). */
  get byId(): ReadonlyMap<string, DataKey> {
    return this.keys;
  }

  /**
   * Holds `key` from now on. An active one replaces the active key: the database holds one
   * active key, so another replica rotated and new envelopes go under its key.
   */
  adopt(key: DataKey): void {
    assertKeyOwner(key.id, null);
    this.keys.set(key.id, key);
    if (key.status === 'active' && key !== this.activeKey) {
      this.activeKey.status = 'retired';
      this.activeKey = key;
    }
  }

  /** Holds `key`, just made, as the only active key. */
  activate(key: DataKey): void {
    assertKeyOwner(key.id, null);
    for (const held of this.keys.values()) {
      if (held.status === 'active') held.status = 'retired';
    }
    this.keys.set(key.id, key);
    this.activeKey = key;
  }

  /**
   * Holds exactly `loaded` (keys still present keep their object), `active` the active one;
   * returns the ids of the keys let go of.
   */
  replace(loaded: ReadonlyMap<string, DataKey>, active: DataKey): string[] {
    for (const id of loaded.keys()) assertKeyOwner(id, null);
    const dropped: string[] = [];
    for (const [id, key] of this.keys) {
      if (loaded.has(id)) continue;
      key.material.fill(0);
      dropped.push(id);
    }
    this.keys.clear();
    for (const [id, key] of loaded) this.keys.set(id, key);
    this.activeKey = active;
    return dropped;
  }

  /** Lets a retired key go; the active key stays whatever is said of it. */
  forget(id: string): void {
    const key = this.keys.get(id);
    if (!key || key === this.activeKey) return;
    key.material.fill(0);
    this.keys.delete(id);
  }

  /** Zeroes and lets go of every key. */
  clear(): void {
    for (const key of this.keys.values()) key.material.fill(0);
    this.keys.clear();
  }
}
