import {
  DataKeyNotFoundError,
  InvalidMasterKeyError,
  KeyringIntegrityError,
  KmsDataKeyEntity,
  MasterKeyMismatchError,
  type EnvelopeV1,
} from '@nest-kms/kms';
import { KmsNotifications } from '@nest-kms/kms/extension';
import { ENGINES } from './support/databases.js';
import { KmsFixture, kmsAppsPerTest, newMasterKey, type KmsApp } from './support/kms-fixture.js';
import { openKmsTables, snapshotKmsTables } from './support/kms-tables.js';
import { SqlRecorder } from './support/sql-recorder.js';

describe.each(ENGINES)('keyring lifecycle on %s', (engine) => {
  const perTest = kmsAppsPerTest(engine);
  const start = (masterKey: string): Promise<KmsApp> => perTest.start(masterKey);

  it('creates a keyring with one active data key on the first start', async () => {
    const { kms, logger } = await start(newMasterKey());
    const status = kms.getStatus();
    expect(status).toMatchObject({ initialized: true, masterKeyPresent: true, dataKeysCount: 1 });
    expect(status.activeKeyId).toMatch(/^dk2-sc-/);
    expect(status.masterKeyFingerprint).toMatch(/^local:[0-9a-f]{32}$/);
    expect(status.activeKeyAgeMs).toBeGreaterThanOrEqual(0);
    const [initialized] = logger.events('kms_initialized');
    expect(initialized).toMatchObject({
      keyringCreated: true,
      dataKeysCount: 1,
      activeKeyId: status.activeKeyId,
    });
    expect(typeof initialized.durationMs).toBe('number');
  });

  it('keeps its keys across a restart: an envelope written before decrypts after', async () => {
    const masterKey = newMasterKey();
    const first = await start(masterKey);
    const envelope = await first.kms.encryptData('survives restarts', { aad: 'user-7' });
    const compact = await first.kms.encryptToString('compact too');
    const before = first.kms.getStatus();
    await first.close();

    const second = await start(masterKey);
    expect(await second.kms.decryptData(envelope, { aad: 'user-7' })).toBe('survives restarts');
    expect(await second.kms.decryptData(compact)).toBe('compact too');
    expect(second.kms.getStatus()).toMatchObject({
      activeKeyId: before.activeKeyId,
      dataKeysCount: 1,
      masterKeyFingerprint: before.masterKeyFingerprint,
    });
    expect(second.logger.events('kms_initialized')[0]).toMatchObject({ keyringCreated: false });
  });

  it('refuses to start with another master key, and writes nothing', async () => {
    const first = await start(newMasterKey());
    const envelope = await first.kms.encryptData('still mine');
    const tables = await openKmsTables(perTest.db());
    const before = await snapshotKmsTables(tables);

    const wrongKey = newMasterKey();
    const failure = await KmsFixture.start(perTest.db(), wrongKey).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(MasterKeyMismatchError);
    expect((failure as MasterKeyMismatchError).code).toBe('KMS_MASTER_KEY_MISMATCH');
    expect((failure as Error).message).toContain(first.kms.getStatus().masterKeyFingerprint);
    expect((failure as Error).message).not.toContain(wrongKey);
    // The fix, including the case an operator most often meets it in: a rotation half done.
    expect((failure as Error).message).toContain('KMS_MASTER_KEY_PREVIOUS');

    expect(await snapshotKmsTables(tables)).toEqual(before);
    expect(await first.kms.decryptData(envelope)).toBe('still mine');
    await tables.destroy();
  });

  it('rotates: new envelopes use the new key, old ones keep decrypting, one key stays active', async () => {
    const { kms, logger } = await start(newMasterKey());
    const oldKeyId = kms.getStatus().activeKeyId;
    const old = await kms.encryptData('written before rotation');

    const { keyId: newKeyId } = await kms.rotateDataKey();
    expect(newKeyId).not.toBe(oldKeyId);
    expect(kms.getStatus()).toMatchObject({ activeKeyId: newKeyId, dataKeysCount: 2 });
    const fresh = await kms.encryptData('written after rotation');
    expect(fresh.keyId).toBe(newKeyId);
    expect(await kms.decryptData(old)).toBe('written before rotation');
    expect(await kms.decryptData(fresh)).toBe('written after rotation');
    expect(logger.events('data_key_rotated')).toEqual([
      expect.objectContaining({ keyId: newKeyId, previousKeyId: oldKeyId, reason: 'manual' }),
    ]);

    const tables = await openKmsTables(perTest.db());
    const rows = await tables.getRepository(KmsDataKeyEntity).find();
    expect(rows.filter((row) => row.status === 'active').map((row) => row.id)).toEqual([newKeyId]);
    expect(rows.find((row) => row.id === oldKeyId)).toMatchObject({ status: 'retired' });
    expect(rows.find((row) => row.id === oldKeyId)?.retiredAt).toBeGreaterThan(0);
    await tables.destroy();
  });

  it('lists its data keys newest first, with metadata and never key material', async () => {
    const { kms } = await start(newMasterKey());
    const first = kms.getStatus().activeKeyId;
    const { keyId: second } = await kms.rotateDataKey();
    const { keyId: third } = await kms.rotateDataKey();
    const keys = await kms.listDataKeys();
    expect(keys.map((key) => [key.id, key.status])).toEqual([
      [third, 'active'],
      [second, 'retired'],
      [first, 'retired'],
    ]);
    expect(keys[0].retiredAt).toBeNull();
    expect(Date.parse(keys[1].retiredAt!)).toBeGreaterThanOrEqual(Date.parse(keys[1].createdAt));
    expect(new Set(keys.map((key) => key.masterKeyFingerprint))).toEqual(
      new Set([kms.getStatus().masterKeyFingerprint]),
    );
    for (const key of keys) {
      expect(Object.keys(key).sort()).toEqual(
        ['createdAt', 'id', 'masterKeyFingerprint', 'retiredAt', 'status'].sort(),
      );
    }
  });

  it('lets the database, not only the code, refuse a second active key', async () => {
    const { kms } = await start(newMasterKey());
    const tables = await openKmsTables(perTest.db());
    const active = await tables
      .getRepository(KmsDataKeyEntity)
      .findOneByOrFail({ id: kms.getStatus().activeKeyId! });
    await expect(
      tables.getRepository(KmsDataKeyEntity).insert({ ...active, id: 'dk-intruder' }),
    ).rejects.toThrow();
    await tables.destroy();
  });

  it('finds a key another replica rotated to without being told, with one database read, and writes under it', async () => {
    const masterKey = newMasterKey();
    const replicaA = await start(masterKey);
    const sql = new SqlRecorder();
    const replicaB = await perTest.start(masterKey, {
      connection: sql.attach(perTest.db().connection),
    });
    // As if B's notification were lost: the envelope itself must lead B to the key.
    await replicaB.app.get(KmsNotifications).onApplicationShutdown();
    const { keyId: rotatedId } = await replicaA.kms.rotateDataKey();
    const fromA = await replicaA.kms.encryptData('from replica A');

    const reads = sql.mark();
    const [first, second] = await Promise.all([
      replicaB.kms.decryptData(fromA),
      replicaB.kms.decryptData(fromA),
    ]);
    expect([first, second]).toEqual(['from replica A', 'from replica A']);
    expect(reads()).toHaveLength(1);
    expect(reads()[0].query).toMatch(/kms_data_keys/);
    expect(replicaB.kms.getStatus()).toMatchObject({ activeKeyId: rotatedId, dataKeysCount: 2 });
    expect((await replicaB.kms.encryptData('from replica B')).keyId).toBe(rotatedId);
  });

  it('keeps encrypt and decrypt off the database once the keyring is loaded', async () => {
    const sql = new SqlRecorder();
    const { kms } = await perTest.start(newMasterKey(), {
      connection: sql.attach(perTest.db().connection),
    });
    const during = sql.mark();
    for (let i = 0; i < 200; i++) {
      const envelope = await kms.encryptData(`value ${i}`, {
        aad: { tenant: 't1', row: String(i) },
      });
      expect(await kms.decryptData(envelope, { aad: { row: String(i), tenant: 't1' } })).toBe(
        `value ${i}`,
      );
      expect(await kms.decryptData(await kms.encryptToString(`compact ${i}`))).toBe(`compact ${i}`);
    }
    expect(during()).toEqual([]);
  });

  it('lets replicas starting together on an empty database agree on one keyring', async () => {
    const masterKey = newMasterKey();
    const replicas = await Promise.all([start(masterKey), start(masterKey), start(masterKey)]);
    const statuses = replicas.map((replica) => replica.kms.getStatus());
    expect(new Set(statuses.map((status) => status.activeKeyId)).size).toBe(1);
    expect(statuses.map((status) => status.dataKeysCount)).toEqual([1, 1, 1]);
    const envelope = await replicas[0].kms.encryptData('shared');
    for (const replica of replicas) expect(await replica.kms.decryptData(envelope)).toBe('shared');
  });

  it('runs concurrent rotations in one process one after another', async () => {
    const { kms } = await start(newMasterKey());
    const before = await kms.encryptData('before');
    const rotations = await Promise.all(Array.from({ length: 5 }, () => kms.rotateDataKey()));
    const rotated = rotations.map((rotation) => rotation.keyId);
    expect(new Set(rotated).size).toBe(5);
    expect(kms.getStatus()).toMatchObject({ dataKeysCount: 6, activeKeyId: rotated[4] });
    await expectOneActiveKey(6);
    expect(await kms.decryptData(before)).toBe('before');
  });

  // Several processes on one SQLite file are not supported (DESIGN.md: SQLite is one process).
  if (engine === 'postgres') {
    it('serialises rotations from several replicas: each succeeds, one key ends active', async () => {
      const masterKey = newMasterKey();
      const replicas = [await start(masterKey), await start(masterKey)];
      const written = await Promise.all(
        replicas.map((replica) => replica.kms.encryptData('before')),
      );
      const rotations = await Promise.all(
        [0, 1, 0, 1, 0, 1].map((index) => replicas[index].kms.rotateDataKey()),
      );
      const rotated = rotations.map((rotation) => rotation.keyId);
      expect(new Set(rotated).size).toBe(6);
      await expectOneActiveKey(7);
      for (const replica of replicas) {
        for (const envelope of written)
          expect(await replica.kms.decryptData(envelope)).toBe('before');
      }
    });
  }

  async function expectOneActiveKey(total: number): Promise<void> {
    const tables = await openKmsTables(perTest.db());
    const rows = await tables.getRepository(KmsDataKeyEntity).find();
    await tables.destroy();
    expect(rows).toHaveLength(total);
    expect(rows.filter((row) => row.status === 'active')).toHaveLength(1);
  }

  it('answers an unknown key id with "Data key not found"', async () => {
    const { kms } = await start(newMasterKey());
    const envelope = await kms.encryptData('x');
    const foreign: EnvelopeV1 = { ...envelope, keyId: 'dk-does-not-exist' };
    const failure = await kms.decryptData(foreign).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(DataKeyNotFoundError);
    expect((failure as Error).message).toMatch(/^Data key not found/);
    // A second attempt is answered the same way (from the short negative cache, not a crash).
    await expect(kms.decryptData(foreign)).rejects.toBeInstanceOf(DataKeyNotFoundError);
  });

  it('refuses to start when a stored data key was tampered with', async () => {
    const masterKey = newMasterKey();
    const first = await start(masterKey);
    const keyId = first.kms.getStatus().activeKeyId!;
    await first.close();

    const tables = await openKmsTables(perTest.db());
    const repo = tables.getRepository(KmsDataKeyEntity);
    const row = await repo.findOneByOrFail({ id: keyId });
    const wrapped = Buffer.from(row.wrappedKey, 'base64');
    wrapped[wrapped.length - 1] ^= 0x01;
    await repo.update({ id: keyId }, { wrappedKey: wrapped.toString('base64') });
    await tables.destroy();

    const failure = await KmsFixture.start(perTest.db(), masterKey).catch(
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(KeyringIntegrityError);
    expect((failure as KeyringIntegrityError).keyId).toBe(keyId);
  });

  it('refuses a master key that is not base64 of 32 bytes', async () => {
    for (const bad of [
      'not base64 at all!',
      Buffer.alloc(16, 7).toString('base64'),
      Buffer.alloc(33).toString('base64'),
    ]) {
      const failure = await KmsFixture.start(perTest.db(), bad).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(InvalidMasterKeyError);
      expect((failure as Error).message).toMatch(/^Master key must be 32 bytes/);
      expect((failure as Error).message).not.toContain(bad);
    }
  });
});
