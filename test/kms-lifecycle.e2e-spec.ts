import {
  DataKeyInUseError,
  DataKeyNotFoundError,
  KmsDataKeyEntity,
  KmsKeyringEntity,
  KmsMetrics,
  MasterKeyMismatchError,
  type ReencryptionProgress,
} from '@nest-kms/kms';
import { CapturedLogger, loggedEvents } from './support/captured-logger.js';
import { caught } from './support/caught.js';
import { DAY_MS } from './support/clock.js';
import { ENGINES, createTestDatabase, type TestDatabase } from './support/databases.js';
import { eventually } from './support/eventually.js';
import { newMasterKey } from './support/kms-fixture.js';
import { openKmsTables } from './support/kms-tables.js';
import { NoteEntity, startNotesApp, type NotesApp } from './support/notes-fixture.js';

describe.each(ENGINES)('key lifecycle on %s', (engine) => {
  let db: TestDatabase;
  const apps: NotesApp[] = [];
  const start = async (
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
  const close = async (app: NotesApp): Promise<void> => {
    apps.splice(apps.indexOf(app), 1);
    await app.close();
  };

  beforeEach(async () => {
    db = await createTestDatabase(engine);
  });

  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    await db.drop();
  });

  /** Stores `count` notes `note-<i>` = `note-secret-<i>` as envelopes bound to their id. */
  async function writeNotes(app: NotesApp, count: number, from = 0): Promise<void> {
    const rows = [];
    for (let i = from; i < from + count; i++) {
      const id = `note-${i}`;
      rows.push({ id, body: await app.kms.encryptToString(`note-secret-${i}`, { aad: id }) });
    }
    for (let i = 0; i < rows.length; i += 200) {
      await app.dataSource.getRepository(NoteEntity).insert(rows.slice(i, i + 200));
    }
  }

  async function readNotes(app: NotesApp): Promise<Map<string, string>> {
    const rows = await app.dataSource.getRepository(NoteEntity).find();
    const values = new Map<string, string>();
    for (const row of rows) {
      if (row.body?.startsWith('kms1.')) {
        values.set(row.id, await app.kms.decryptData(row.body, { aad: row.id }));
      }
    }
    return values;
  }

  it('rotates the active data key once it is rotationDays old, and not before', async () => {
    let now = Date.UTC(2026, 0, 1);
    const app = await start(newMasterKey(), {
      rotation: { rotationDays: 90, checkIntervalMs: 0 },
      clock: () => now,
    });
    const first = app.kms.getStatus().activeKeyId!;
    const old = await app.kms.encryptData('written on day 0');
    expect(app.kms.getStatus().nextRotationDueAt).toBe(new Date(now + 90 * DAY_MS).toISOString());

    now += 90 * DAY_MS - 1;
    await app.kms.runLifecycle();
    expect(app.kms.getStatus().activeKeyId).toBe(first);

    now += 1;
    await app.kms.runLifecycle();
    const second = app.kms.getStatus().activeKeyId!;
    expect(second).not.toBe(first);
    expect(app.logger.events('data_key_rotated')).toEqual([
      expect.objectContaining({ keyId: second, previousKeyId: first, reason: 'age' }),
    ]);
    expect(await app.kms.decryptData(old)).toBe('written on day 0');

    await app.kms.runLifecycle();
    expect(app.kms.getStatus()).toMatchObject({ activeKeyId: second, dataKeyRotations: 1 });
  });

  it('rotates before a data key seals more than maxEncryptionsPerKey envelopes', async () => {
    const app = await start(newMasterKey(), {
      rotation: { maxEncryptionsPerKey: 100, usageFlushEvery: 10, checkIntervalMs: 0 },
    });
    const first = app.kms.getStatus().activeKeyId!;
    const envelopes = [];
    for (let i = 0; i < 99; i++) envelopes.push(await app.kms.encryptToString(`value ${i}`));
    await app.kms.runLifecycle();
    expect(app.kms.getStatus()).toMatchObject({ activeKeyId: first, activeKeyEncryptions: 99 });

    envelopes.push(await app.kms.encryptToString('the hundredth'));
    await app.kms.runLifecycle();
    const second = app.kms.getStatus().activeKeyId!;
    expect(second).not.toBe(first);
    expect(app.logger.events('data_key_rotated')).toEqual([
      expect.objectContaining({ keyId: second, previousKeyId: first, reason: 'usage_limit' }),
    ]);
    const tables = await openKmsTables(db);
    const row = await tables.getRepository(KmsDataKeyEntity).findOneByOrFail({ id: first });
    expect(Number(row.encryptions)).toBe(100);
    await tables.destroy();
    for (const [i, envelope] of envelopes.entries()) {
      expect(await app.kms.decryptData(envelope)).toBe(i < 99 ? `value ${i}` : 'the hundredth');
    }
    expect((await app.kms.encryptData('next')).keyId).toBe(second);
    const metrics = await app.app.get(KmsMetrics).registry.metrics();
    expect(metrics).toContain('key_rotation_frequency{reason="usage_limit"} 1');
    expect(metrics).toContain('kms_active_key_encryptions 1');
    expect(metrics).toContain('kms_data_keys 2');
  });

  it('persists usage counts in batches and at shutdown, so a restart keeps counting', async () => {
    const masterKey = newMasterKey();
    const app = await start(masterKey, { rotation: { usageFlushEvery: 10, checkIntervalMs: 0 } });
    const keyId = app.kms.getStatus().activeKeyId!;
    for (let i = 0; i < 25; i++) await app.kms.encryptToString(`value ${i}`);
    await close(app);

    const tables = await openKmsTables(db);
    const row = await tables.getRepository(KmsDataKeyEntity).findOneByOrFail({ id: keyId });
    expect(Number(row.encryptions)).toBe(25);
    await tables.destroy();
    const again = await start(masterKey);
    await again.kms.runLifecycle();
    expect(again.kms.getStatus().activeKeyEncryptions).toBe(25);
  });

  it('re-encrypts every envelope under retired keys in batches, reporting progress, and then lets the keys go', async () => {
    const app = await start(newMasterKey());
    const retired = [app.kms.getStatus().activeKeyId!];
    await writeNotes(app, 700);
    retired.push((await app.kms.rotateDataKey()).keyId);
    await writeNotes(app, 500, 700);
    const { keyId: active } = await app.kms.rotateDataKey();
    await app.dataSource.getRepository(NoteEntity).insert([
      { id: 'empty', body: null },
      { id: 'legacy', body: 'plain legacy text' },
    ]);
    const before = await readNotes(app);
    expect(before.size).toBe(1200);
    expect(await app.kms.countEnvelopesUsing(retired[0])).toBe(700);

    const progress: ReencryptionProgress[] = [];
    const result = await app.kms.reencrypt({
      batchSize: 500,
      onProgress: (step) => progress.push(step),
    });
    expect(result).toMatchObject({ ran: true, moved: 1200, failed: 0, remaining: 0 });
    expect(progress.map((step) => step.moved)).toEqual([500, 1000, 1200]);
    expect(progress.every((step) => step.total === 1200 && step.column === 'test_notes.body')).toBe(
      true,
    );

    const rows = await app.dataSource.getRepository(NoteEntity).find();
    for (const row of rows) {
      if (row.id === 'empty') expect(row.body).toBeNull();
      else if (row.id === 'legacy') expect(row.body).toBe('plain legacy text');
      else expect(row.body!.startsWith(`kms1.${active}.`)).toBe(true);
    }
    expect(await readNotes(app)).toEqual(before);
    expect(app.logger.events('reencryption_completed')).toEqual([
      expect.objectContaining({ moved: 1200, failed: 0, remaining: 0 }),
    ]);
    const metrics = await app.app.get(KmsMetrics).registry.metrics();
    expect(metrics).toContain('kms_reencryption_envelopes_total{outcome="moved"} 1200');
    expect(metrics).toContain('kms_reencryption_remaining 0');

    for (const keyId of retired) {
      expect(await app.kms.countEnvelopesUsing(keyId)).toBe(0);
      await app.kms.destroyDataKey(keyId);
    }
    expect(app.kms.getStatus().dataKeysCount).toBe(1);
    expect(await readNotes(app)).toEqual(before);
    expect(await app.kms.reencrypt()).toMatchObject({ ran: true, moved: 0, remaining: 0 });
  });

  it('re-encrypts on its own after a rotation when auto re-encryption is on', async () => {
    const app = await start(newMasterKey(), { reencryption: { auto: true } });
    await writeNotes(app, 50);
    const old = app.kms.getStatus().activeKeyId!;
    const { keyId: active } = await app.kms.rotateDataKey();
    await eventually(async () => expect(await app.kms.countEnvelopesUsing(old)).toBe(0));
    const rows = await app.dataSource.getRepository(NoteEntity).find();
    expect(rows.every((row) => row.body!.startsWith(`kms1.${active}.`))).toBe(true);
    expect((await readNotes(app)).size).toBe(50);
  });

  it('refuses to destroy a data key that envelopes still use, or the active one, and deletes nothing', async () => {
    const app = await start(newMasterKey());
    const old = app.kms.getStatus().activeKeyId!;
    await writeNotes(app, 3);
    const { keyId: active } = await app.kms.rotateDataKey();

    const inUse = await caught(() => app.kms.destroyDataKey(old));
    expect(inUse).toBeInstanceOf(DataKeyInUseError);
    expect(inUse).toMatchObject({ code: 'KMS_DATA_KEY_IN_USE', keyId: old, envelopes: 3 });
    expect(inUse.message).toContain('3 envelope(s)');
    const activeRefused = await caught(() => app.kms.destroyDataKey(active));
    expect(activeRefused).toMatchObject({ code: 'KMS_DATA_KEY_IN_USE', active: true });
    expect(await caught(() => app.kms.destroyDataKey('dk-unknown'))).toBeInstanceOf(
      DataKeyNotFoundError,
    );

    const tables = await openKmsTables(db);
    expect(await tables.getRepository(KmsDataKeyEntity).count()).toBe(2);
    await tables.destroy();
    expect((await readNotes(app)).size).toBe(3);
  });

  it('leaves an envelope it cannot open where it is, counts it, and moves the rest', async () => {
    const app = await start(newMasterKey());
    await writeNotes(app, 5);
    const notes = app.dataSource.getRepository(NoteEntity);
    const victim = await notes.findOneByOrFail({ id: 'note-2' });
    const parts = victim.body!.split('.');
    const ciphertext = Buffer.from(parts[5], 'base64url');
    ciphertext[0] ^= 1;
    parts[5] = ciphertext.toString('base64url');
    await notes.update({ id: 'note-2' }, { body: parts.join('.') });
    const old = app.kms.getStatus().activeKeyId!;
    await app.kms.rotateDataKey();

    const result = await app.kms.reencrypt({ batchSize: 2 });
    expect(result).toMatchObject({ ran: true, moved: 4, failed: 1, remaining: 1 });
    expect(app.logger.events('reencryption_failed')).toEqual([
      expect.objectContaining({ column: 'test_notes.body', code: 'KMS_DECRYPTION_FAILED' }),
    ]);
    expect(await app.kms.countEnvelopesUsing(old)).toBe(1);
    expect((await notes.findOneByOrFail({ id: 'note-2' })).body).toBe(parts.join('.'));
  });

  it('lets the scheduler rest once nothing movable is left, until the active key changes', async () => {
    const logged = CapturedLogger.everything.length;
    const app = await start(newMasterKey(), { reencryption: { auto: true } });
    await writeNotes(app, 3);
    const notes = app.dataSource.getRepository(NoteEntity);
    const victim = await notes.findOneByOrFail({ id: 'note-1' });
    await notes.update(
      { id: 'note-1' },
      { body: victim.body!.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')) },
    );
    await app.kms.rotateDataKey();
    await eventually(() =>
      expect(app.kms.getStatus().lastReencryption).toMatchObject({ moved: 2 }),
    );
    await app.kms.runLifecycle();
    await app.kms.runLifecycle();
    // The envelope that does not open is reported once per active key, not at every check.
    expect(loggedEvents('reencryption_failed', logged)).toHaveLength(1);
    await writeNotes(app, 2, 10);
    await app.kms.rotateDataKey();
    await eventually(() =>
      expect(app.kms.getStatus().lastReencryption).toMatchObject({ moved: 2 }),
    );
  });

  it('rotates the master key at start-up from KMS_MASTER_KEY_PREVIOUS, in one step, and every envelope still opens', async () => {
    const oldKey = newMasterKey();
    const newKey = newMasterKey();
    const before = await start(oldKey);
    await writeNotes(before, 20);
    await before.kms.rotateDataKey();
    await writeNotes(before, 20, 20);
    await before.kms.rotateDataKey();
    const oldFingerprint = before.kms.getStatus().masterKeyFingerprint;
    await close(before);

    const after = await start(newKey, { previousMasterKey: oldKey });
    const newFingerprint = after.kms.getStatus().masterKeyFingerprint;
    expect(newFingerprint).not.toBe(oldFingerprint);
    expect(after.logger.events('master_key_rotated')).toEqual([
      expect.objectContaining({ from: oldFingerprint, to: newFingerprint, rewrapped: 3 }),
    ]);
    expect((await readNotes(after)).size).toBe(40);
    const tables = await openKmsTables(db);
    const keys = await tables.getRepository(KmsDataKeyEntity).find();
    expect(keys.map((key) => key.masterKeyFingerprint)).toEqual([
      newFingerprint,
      newFingerprint,
      newFingerprint,
    ]);
    expect(
      (await tables.getRepository(KmsKeyringEntity).findOneByOrFail({ id: 'default' }))
        .masterKeyFingerprint,
    ).toBe(newFingerprint);
    await tables.destroy();
    await close(after);

    // The old key may stay configured until every replica has restarted; it is then unused.
    const stillBoth = await start(newKey, { previousMasterKey: oldKey });
    expect(stillBoth.logger.events('master_key_rotated')).toEqual([]);
    await close(stillBoth);
    const newOnly = await start(newKey);
    expect((await readNotes(newOnly)).size).toBe(40);
    await close(newOnly);
    expect(await caught(() => start(oldKey))).toBeInstanceOf(MasterKeyMismatchError);
  });

  it('rotates the master key of a running keyring with rotateMasterKey()', async () => {
    const oldKey = newMasterKey();
    const newKey = newMasterKey();
    const app = await start(oldKey);
    await writeNotes(app, 10);
    const rotation = await app.kms.rotateMasterKey(newKey);
    expect(rotation).toMatchObject({ rewrapped: 1 });
    expect(app.kms.getStatus().masterKeyFingerprint).toBe(rotation.to);
    await app.kms.rotateDataKey();
    await writeNotes(app, 10, 10);
    expect((await readNotes(app)).size).toBe(20);
    await close(app);

    const restarted = await start(newKey);
    expect((await readNotes(restarted)).size).toBe(20);
    await close(restarted);
    expect(await caught(() => start(oldKey))).toBeInstanceOf(MasterKeyMismatchError);
  });

  it('never logs a master key, a data key or a plaintext', () => {
    const text = CapturedLogger.allText();
    expect(text).not.toMatch(/note-secret-|value \d|the hundredth|written on day 0/);
  });
});
