import { randomBytes, randomUUID } from 'node:crypto';
import { DataKeyNotFoundError } from '../errors/data-key-not-found.error.js';
import { KeyringIntegrityError } from '../errors/keyring-integrity.error.js';
import { KmsError } from '../errors/kms.error.js';
import { MasterKeyMismatchError } from '../errors/master-key-mismatch.error.js';
const MISSING_TTL_MS = 5_000;
const MISSING_MAX = 1_024;
export class Keyring {
  provider;
  store;
  fingerprint;
  now;
  keys = new Map();
  activeKey;
  lookups = new Map();
  missing = new Map();
  constructor(provider, store, fingerprint, now) {
    this.provider = provider;
    this.store = store;
    this.fingerprint = fingerprint;
    this.now = now;
  }
  static async open(provider, store, now = Date.now) {
    const fingerprint = await provider.fingerprint();
    const keyring = new Keyring(provider, store, fingerprint, now);
    let created = false;
    const stored = await store.readFingerprint();
    if (stored === null) {
      const first = await keyring.newKey();
      first.material.fill(0);
      created = await store.createKeyring(fingerprint, first.stored);
      if (!created) return { keyring: await Keyring.openExisting(keyring), created };
    } else if (stored !== fingerprint) {
      throw new MasterKeyMismatchError(stored, fingerprint);
    }
    await keyring.reload();
    return { keyring, created };
  }
  static async openExisting(keyring) {
    const stored = await keyring.store.readFingerprint();
    if (stored !== keyring.fingerprint) {
      throw new MasterKeyMismatchError(stored ?? '(none)', keyring.fingerprint);
    }
    await keyring.reload();
    return keyring;
  }
  get active() {
    return this.activeKey;
  }
  get size() {
    return this.keys.size;
  }
  get(id) {
    return this.keys.get(id);
  }
  fetch(id) {
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
  async rotate() {
    const next = await this.newKey();
    let previousKeyId;
    try {
      previousKeyId = await this.store.rotate(next.stored);
    } catch (error) {
      next.material.fill(0);
      throw error;
    }
    for (const key of this.keys.values()) {
      if (key.status === 'active') key.status = 'retired';
    }
    const key = {
      id: next.stored.id,
      material: next.material,
      status: 'active',
      createdAt: next.stored.createdAt,
    };
    this.keys.set(key.id, key);
    this.activeKey = key;
    return { keyId: key.id, previousKeyId };
  }
  destroy() {
    for (const key of this.keys.values()) key.material.fill(0);
    this.keys.clear();
  }
  async reload() {
    const rows = await this.store.listKeys();
    const loaded = new Map();
    let active;
    try {
      for (const row of rows) {
        const key = await this.unwrap(row);
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
  async lookUp(id) {
    const row = await this.store.findKey(id);
    if (!row) {
      if (this.missing.size >= MISSING_MAX) this.missing.clear();
      this.missing.set(id, this.now());
      throw new DataKeyNotFoundError(id);
    }
    const key = await this.unwrap(row);
    this.keys.set(key.id, key);
    if (key.status === 'active' && key.createdAt > this.activeKey.createdAt) {
      this.activeKey.status = 'retired';
      this.activeKey = key;
    }
    return key;
  }
  async unwrap(row) {
    let material;
    try {
      material = await this.provider.unwrapDataKey(row.wrappedKey, row.id);
    } catch (error) {
      if (error instanceof KmsError) {
        throw new KeyringIntegrityError(
          row.id,
          'its wrapped key does not verify under the master key',
        );
      }
      throw error;
    }
    return { id: row.id, material, status: row.status, createdAt: row.createdAt };
  }
  async newKey() {
    const id = `dk-${randomUUID()}`;
    const material = randomBytes(32);
    const wrappedKey = await this.provider.wrapDataKey(material, id);
    return {
      material,
      stored: {
        id,
        wrappedKey,
        status: 'active',
        masterKeyFingerprint: this.fingerprint,
        createdAt: this.now(),
        retiredAt: null,
      },
    };
  }
}
//# sourceMappingURL=keyring.js.map
