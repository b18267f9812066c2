import { randomBytes } from 'node:crypto';
import { DataKeyNotFoundError } from '../errors/data-key-not-found.error.js';
import { KeyringIntegrityError } from '../errors/keyring-integrity.error.js';
import { MasterKeyMismatchError } from '../errors/master-key-mismatch.error.js';
import { LocalMasterKeyProvider } from '../master-key/local-master-key.provider.js';
import { Keyring } from './keyring.js';
import { InMemoryKeyringStore } from './fixtures/in-memory-keyring.store.js';

const masterKey = () => new LocalMasterKeyProvider(randomBytes(32));

describe('Keyring on its storage port', () => {
  let store: InMemoryKeyringStore;
  let master: LocalMasterKeyProvider;
  let now: number;
  const clock = () => now;

  beforeEach(() => {
    store = new InMemoryKeyringStore();
    master = masterKey();
    now = 1_767_225_600_000;
  });

  describe('open', () => {
    it('creates the keyring with one active data key on the first start', async () => {
      const { keyring, created, masterKeyRotation } = await Keyring.open(master, store, {
        now: clock,
        newKeyId: (creating) => (creating ? 'dk-first' : undefined),
      });
      expect(created).toBe(true);
      expect(masterKeyRotation).toBeNull();
      expect(keyring.size).toBe(1);
      expect(keyring.active).toMatchObject({ id: 'dk-first', status: 'active', createdAt: now });
      expect(keyring.fingerprint).toBe(await master.fingerprint());
      expect(store.fingerprint).toBe(await master.fingerprint());
      expect(store.rows.get('dk-first')?.wrappedKey.equals(keyring.active.material)).toBe(false);
    });

    it('opens an existing keyring with the same keys, creating nothing', async () => {
      const first = await Keyring.open(master, store);
      const again = await Keyring.open(master, store);
      expect(again.created).toBe(false);
      expect(again.keyring.active.id).toBe(first.keyring.active.id);
      expect(again.keyring.active.material.equals(first.keyring.active.material)).toBe(true);
      expect(store.rows.size).toBe(1);
    });

    it('refuses another master key before writing anything', async () => {
      await Keyring.open(master, store);
      const before = [...store.rows.values()];
      const other = masterKey();
      await expect(Keyring.open(other, store)).rejects.toBeInstanceOf(MasterKeyMismatchError);
      expect(store.fingerprint).toBe(await master.fingerprint());
      expect([...store.rows.values()]).toEqual(before);
    });

    it('finishes a master-key rotation when the stored key is the previous one', async () => {
      const { keyring: old } = await Keyring.open(master, store);
      await old.rotate();
      const next = masterKey();
      const { keyring, masterKeyRotation } = await Keyring.open(next, store, { previous: master });
      expect(masterKeyRotation).toEqual({
        from: await master.fingerprint(),
        to: await next.fingerprint(),
        rewrapped: 2,
      });
      expect([...store.rows.values()].map((row) => row.masterKeyFingerprint)).toEqual([
        await next.fingerprint(),
        await next.fingerprint(),
      ]);
      expect(keyring.get(old.active.id)?.material.equals(old.active.material)).toBe(true);
      await expect(Keyring.open(master, store)).rejects.toBeInstanceOf(MasterKeyMismatchError);
    });
  });

  describe('rotate', () => {
    it('makes a new active key and keeps the retired one for decryption', async () => {
      const { keyring } = await Keyring.open(master, store, { now: clock });
      const first = keyring.active;
      now += 1_000;
      const rotation = await keyring.rotate();
      expect(rotation).toEqual({ keyId: keyring.active.id, previousKeyId: first.id });
      expect(keyring.active).toMatchObject({ status: 'active', createdAt: now });
      expect(keyring.get(first.id)?.status).toBe('retired');
      expect(store.rows.get(first.id)?.status).toBe('retired');
      expect(keyring.size).toBe(2);
    });

    it('with ifActive, adopts the key another replica made for the same rotation', async () => {
      const { keyring: one } = await Keyring.open(master, store);
      const { keyring: two } = await Keyring.open(master, store);
      const due = one.active.id;
      const made = await one.rotate(due);
      expect(await two.rotate(due)).toBeNull();
      expect(two.active.id).toBe(made!.keyId);
      expect(two.active.material.equals(one.active.material)).toBe(true);
      expect([...store.rows.values()].filter((row) => row.status === 'active')).toHaveLength(1);
    });

    it('runs one rotation at a time: concurrent calls each retire the key before theirs', async () => {
      const { keyring } = await Keyring.open(master, store);
      const first = keyring.active.id;
      const [a, b] = await Promise.all([keyring.rotate(), keyring.rotate()]);
      expect(a!.previousKeyId).toBe(first);
      expect(b!.previousKeyId).toBe(a!.keyId);
      expect(keyring.active.id).toBe(b!.keyId);
    });
  });

  describe('fetch', () => {
    it('refuses an unknown id, and answers it again from memory for a while', async () => {
      const { keyring } = await Keyring.open(master, store, { now: clock });
      await expect(keyring.fetch('dk-unknown')).rejects.toBeInstanceOf(DataKeyNotFoundError);
      await expect(keyring.fetch('dk-unknown')).rejects.toBeInstanceOf(DataKeyNotFoundError);
      expect(store.findKeyCalls).toBe(1);
      now += 5_000;
      await expect(keyring.fetch('dk-unknown')).rejects.toBeInstanceOf(DataKeyNotFoundError);
      expect(store.findKeyCalls).toBe(2);
    });

    it("loads another replica's new key once, however many ask, and writes under it", async () => {
      const { keyring: one } = await Keyring.open(master, store);
      const { keyring: two } = await Keyring.open(master, store);
      const rotation = (await one.rotate())!;
      const fetched = await Promise.all([two.fetch(rotation.keyId), two.fetch(rotation.keyId)]);
      expect(fetched[0]).toBe(fetched[1]);
      expect(store.findKeyCalls).toBe(1);
      expect(two.active.id).toBe(rotation.keyId);
      expect(two.get(rotation.previousKeyId!)?.status).toBe('retired');
      await expect(two.fetch(rotation.keyId)).resolves.toBe(fetched[0]);
      expect(store.findKeyCalls).toBe(1);
    });
  });

  describe('rotateMasterKey', () => {
    it('re-wraps every data key under the new master key and uses it from then on', async () => {
      const { keyring } = await Keyring.open(master, store);
      await keyring.rotate();
      const materials = [...keyring.list()].map((key) => Buffer.from(key.material));
      const next = masterKey();
      const rotation = await keyring.rotateMasterKey(next);
      expect(rotation).toEqual({
        from: await master.fingerprint(),
        to: await next.fingerprint(),
        rewrapped: 2,
      });
      expect(keyring.fingerprint).toBe(await next.fingerprint());
      expect(keyring.heldMasterKey(await master.fingerprint())).toBeUndefined();
      const made = (await keyring.rotate())!;
      expect(store.rows.get(made.keyId)?.masterKeyFingerprint).toBe(await next.fingerprint());
      const { keyring: reopened } = await Keyring.open(next, store);
      expect([...reopened.list()].slice(0, 2).map((key) => key.material)).toEqual(materials);
      await expect(Keyring.open(master, store)).rejects.toBeInstanceOf(MasterKeyMismatchError);
    });
  });

  describe('loading many keys', () => {
    it('loads every key of a large keyring with its status, the active one active', async () => {
      const { keyring } = await Keyring.open(master, store, { now: clock });
      for (let rotation = 0; rotation < 19; rotation++) await keyring.rotate();
      const reopened = (await Keyring.open(master, store, { now: clock })).keyring;
      expect(reopened.size).toBe(20);
      expect(reopened.active.id).toBe(keyring.active.id);
      expect(reopened.active.material.equals(keyring.active.material)).toBe(true);
      expect([...reopened.list()].filter((key) => key.status === 'active')).toHaveLength(1);
    });

    it('refuses the whole load when one of many keys was altered', async () => {
      const { keyring } = await Keyring.open(master, store, { now: clock });
      for (let rotation = 0; rotation < 19; rotation++) await keyring.rotate();
      const victim = [...store.rows.values()][7];
      const altered = Buffer.from(victim.wrappedKey);
      altered[altered.length - 1] ^= 0x01;
      store.rows.set(victim.id, { ...victim, wrappedKey: altered });
      await expect(Keyring.open(master, store, { now: clock })).rejects.toBeInstanceOf(
        KeyringIntegrityError,
      );
    });
  });

  describe('index root key', () => {
    it('is made once, wrapped (never stored plain), and the same for every process', async () => {
      const first = await Keyring.open(master, store);
      const root = Buffer.from(first.keyring.indexRootKey);
      expect(store.indexRootKey).not.toBeNull();
      expect(store.indexRootKey!.includes(root.subarray(0, 16))).toBe(false);
      const second = await Keyring.open(master, store);
      expect(second.keyring.indexRootKey.equals(root)).toBe(true);
    });

    it('is made for a keyring that had none, and racing processes end with one', async () => {
      await Keyring.open(master, store);
      store.indexRootKey = null;
      const [a, b] = await Promise.all([Keyring.open(master, store), Keyring.open(master, store)]);
      expect(a.keyring.indexRootKey.equals(b.keyring.indexRootKey)).toBe(true);
    });

    it('keeps its bytes through a master-key rotation, re-wrapped under the new key', async () => {
      const { keyring } = await Keyring.open(master, store);
      const root = Buffer.from(keyring.indexRootKey);
      const wrappedBefore = store.indexRootKey!;
      const next = masterKey();
      await keyring.rotateMasterKey(next);
      expect(store.indexRootKey!.equals(wrappedBefore)).toBe(false);
      const reopened = await Keyring.open(next, store);
      expect(reopened.keyring.indexRootKey.equals(root)).toBe(true);
    });

    it('refuses a wrapped root key that was altered', async () => {
      await Keyring.open(master, store);
      store.indexRootKey![store.indexRootKey!.length - 1] ^= 0x01;
      await expect(Keyring.open(master, store)).rejects.toBeInstanceOf(KeyringIntegrityError);
    });

    it('is zeroed with the keyring', async () => {
      const { keyring } = await Keyring.open(master, store);
      const root = keyring.indexRootKey;
      keyring.destroy();
      expect(root.equals(Buffer.alloc(32))).toBe(true);
    });
  });

  describe('destroyKey', () => {
    it('deletes a retired key from the store and zeroes it in memory', async () => {
      const { keyring } = await Keyring.open(master, store);
      const retired = keyring.active;
      await keyring.rotate();
      expect(await keyring.destroyKey(retired.id)).toBe(true);
      expect(keyring.get(retired.id)).toBeUndefined();
      expect(store.rows.has(retired.id)).toBe(false);
      expect(retired.material.equals(Buffer.alloc(32))).toBe(true);
    });

    it('refuses the active key and an unknown id', async () => {
      const { keyring } = await Keyring.open(master, store);
      expect(await keyring.destroyKey(keyring.active.id)).toBe(false);
      expect(await keyring.destroyKey('dk-unknown')).toBe(false);
      expect(keyring.get(keyring.active.id)).toBe(keyring.active);
      expect(store.rows.size).toBe(1);
    });
  });

  describe('importKeys', () => {
    it('adds the keys of an export as retired; a different key under a held id adds nothing', async () => {
      const other = new InMemoryKeyringStore();
      const { keyring: source } = await Keyring.open(master, other);
      const { keyring } = await Keyring.open(master, store);
      const exported = await source.exportKeys();
      expect(await keyring.importKeys(exported)).toEqual([source.active.id]);
      expect(keyring.get(source.active.id)).toMatchObject({ status: 'retired' });
      expect(keyring.get(source.active.id)?.material.equals(source.active.material)).toBe(true);
      expect(keyring.active.id).not.toBe(source.active.id);

      const forged = new InMemoryKeyringStore();
      const { keyring: impostor } = await Keyring.open(master, forged, {
        newKeyId: () => keyring.active.id,
      });
      const rows = store.rows.size;
      await expect(keyring.importKeys(await impostor.exportKeys())).rejects.toBeInstanceOf(
        KeyringIntegrityError,
      );
      expect(store.rows.size).toBe(rows);
    });
  });

  it('destroy zeroes every key in memory', async () => {
    const { keyring } = await Keyring.open(master, store);
    await keyring.rotate();
    const keys = [...keyring.list()];
    keyring.destroy();
    expect(keyring.size).toBe(0);
    for (const key of keys) expect(key.material.equals(Buffer.alloc(32))).toBe(true);
  });
});
