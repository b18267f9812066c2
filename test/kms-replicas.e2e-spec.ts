import pg from 'pg';
import {
  KmsDataKeyEntity,
  MasterKeyMismatchError,
  TenantMismatchError,
  type EnvelopeV1,
} from '@nest-kms/kms';
import { KmsNotifications } from '@nest-kms/kms/extension';
import { loggedEvents } from './support/captured-logger.js';
import { caught } from './support/caught.js';
import { DAY_MS } from './support/clock.js';
import { ENGINES, createTestDatabase, type TestDatabase } from './support/databases.js';
import { eventually } from './support/eventually.js';
import { newMasterKey } from './support/kms-fixture.js';
import { openKmsTables } from './support/kms-tables.js';
import { startNotesApp, type NotesApp } from './support/notes-fixture.js';

/** Several replicas, each its own Nest app and connection pool, on one Postgres database. */
describe.each(ENGINES.filter((engine) => engine === 'postgres'))('replicas on %s', (engine) => {
  let db: TestDatabase;
  const apps: NotesApp[] = [];
  const replica = async (
    masterKey: string,
    extra: Parameters<typeof startNotesApp>[2] = {},
  ): Promise<NotesApp> => {
    const app = await startNotesApp(db, masterKey, {
      rotation: { checkIntervalMs: 0 },
      reencryption: { auto: false },
      ...extra,
    });
    apps.push(app);
    return app;
  };

  beforeEach(async () => {
    db = await createTestDatabase(engine);
  });

  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    await db.drop();
  });

  async function adminQuery(sql: string, parameters: unknown[] = []): Promise<unknown[]> {
    const client = new pg.Client({ connectionString: (db.connection as { url: string }).url });
    await client.connect();
    try {
      return (await client.query(sql, parameters)).rows;
    } finally {
      await client.end();
    }
  }

  it('3 replicas racing to rotate 50 times make one key per rotation window, and every envelope opens everywhere', async () => {
    let now = Date.UTC(2026, 0, 1);
    const clock = () => now;
    const masterKey = newMasterKey();
    const replicas = [];
    for (let i = 0; i < 3; i++) {
      replicas.push(await replica(masterKey, { rotation: { checkIntervalMs: 0 }, clock }));
    }
    const written: { envelope: EnvelopeV1; plaintext: string }[] = [];
    for (let round = 0; round < 50; round++) {
      now += 90 * DAY_MS;
      await Promise.all(
        replicas.map(async (app, i) => {
          const plaintext = `round ${round} replica ${i}`;
          const [envelope] = await Promise.all([
            app.kms.encryptData(plaintext),
            app.kms.runLifecycle(),
          ]);
          written.push({ envelope, plaintext });
          written.push({
            envelope: await app.kms.encryptData(`${plaintext} after`),
            plaintext: `${plaintext} after`,
          });
        }),
      );
    }

    const tables = await openKmsTables(db);
    const keys = await tables.getRepository(KmsDataKeyEntity).find();
    await tables.destroy();
    expect(keys).toHaveLength(51);
    expect(keys.filter((key) => key.status === 'active')).toHaveLength(1);
    // Every key was made in its own rotation window: no window has two.
    expect(new Set(keys.map((key) => key.createdAt)).size).toBe(51);
    const rotations = replicas.flatMap((app) => app.logger.events('data_key_rotated'));
    expect(rotations).toHaveLength(50);
    expect(rotations.every((event) => event.reason === 'age')).toBe(true);
    for (const app of replicas) {
      for (const { envelope, plaintext } of written) {
        expect(await app.kms.decryptData(envelope)).toBe(plaintext);
      }
    }
    const active = keys.find((key) => key.status === 'active')!.id;
    for (const app of replicas) {
      await eventually(() => expect(app.kms.getStatus().activeKeyId).toBe(active));
    }
  });

  it('tells the other replicas about a rotation, so they write under the new key without reading an envelope first', async () => {
    const masterKey = newMasterKey();
    const a = await replica(masterKey);
    const b = await replica(masterKey);
    expect(b.kms.getStatus().replicaNotifications).toBe(true);
    const { keyId: rotated } = await a.kms.rotateDataKey();
    await eventually(() => expect(b.kms.getStatus().activeKeyId).toBe(rotated));
    expect((await b.kms.encryptData('from b')).keyId).toBe(rotated);
  });

  it('reconnects a lost listener and reloads the keyring, catching up on what it missed', async () => {
    const masterKey = newMasterKey();
    const a = await replica(masterKey);
    const b = await replica(masterKey);
    const notifications = b.app.get(KmsNotifications);
    const pid = notifications.listenerPid;
    expect(pid).toEqual(expect.any(Number));
    await adminQuery('SELECT pg_terminate_backend($1)', [pid]);
    // Rotated while B may not be listening: only the resynchronisation can tell B.
    const { keyId: rotated } = await a.kms.rotateDataKey();
    await eventually(() => expect(b.logger.events('keyring_resynced')).toHaveLength(1));
    // B may have listened again before A's rotation committed: the rotation then reaches it by
    // notification on the new connection instead of the reload, a moment later.
    await eventually(() => expect(b.kms.getStatus().activeKeyId).toBe(rotated));
    expect(notifications.listening).toBe(true);
    expect(notifications.listenerPid).not.toBe(pid);
    expect(b.logger.events('kms_notifications_lost')).toHaveLength(1);
  });

  it("forgets on a resync that a tenant had no keys: a tenant's first key made while the listener was lost opens at once", async () => {
    const masterKey = newMasterKey();
    const a = await replica(masterKey);
    const b = await replica(masterKey);
    // B finds acme without keys (and remembers it for a few seconds).
    const probe = await a.kms.encryptData('not acme');
    expect(await caught(() => b.kms.decryptData(probe, { tenant: 'acme' }))).toBeInstanceOf(
      TenantMismatchError,
    );
    await adminQuery('SELECT pg_terminate_backend($1)', [b.app.get(KmsNotifications).listenerPid]);
    // Made while B may not be listening: its notification may be lost.
    const ofAcme = await a.kms.encryptData('first of acme', { tenant: 'acme' });
    await eventually(() => expect(b.logger.events('keyring_resynced')).toHaveLength(1));

    expect(await b.kms.decryptData(ofAcme, { tenant: 'acme' })).toBe('first of acme');
  });

  it('after a master-key rotation elsewhere, a replica with the old key keeps decrypting but refuses to rotate', async () => {
    const oldKey = newMasterKey();
    const a = await replica(oldKey);
    const b = await replica(oldKey);
    const envelope = await a.kms.encryptData('before the master key changed');
    const rotation = await b.kms.rotateMasterKey(newMasterKey());
    await eventually(() =>
      expect(loggedEvents('master_key_changed_elsewhere')).toEqual([
        expect.objectContaining({ newMasterKeyFingerprint: rotation.to }),
      ]),
    );
    expect(await a.kms.decryptData(envelope)).toBe('before the master key changed');
    expect(await caught(() => a.kms.rotateDataKey())).toBeInstanceOf(MasterKeyMismatchError);
    const tables = await openKmsTables(db);
    expect(await tables.getRepository(KmsDataKeyEntity).count()).toBe(1);
    await tables.destroy();
  });

  it('runs re-encryption on one replica at a time', async () => {
    const masterKey = newMasterKey();
    const a = await replica(masterKey);
    const b = await replica(masterKey);
    await a.kms.rotateDataKey();
    const client = new pg.Client({ connectionString: (db.connection as { url: string }).url });
    await client.connect();
    try {
      // Another replica's job holds the lock.
      await client.query('SELECT pg_advisory_lock($1, $2)', [0x6e6b6d73, 2]);
      expect(await b.kms.reencrypt()).toMatchObject({ ran: false, moved: 0 });
      await client.query('SELECT pg_advisory_unlock($1, $2)', [0x6e6b6d73, 2]);
      expect(await b.kms.reencrypt()).toMatchObject({ ran: true });
    } finally {
      await client.end();
    }
  });
});
