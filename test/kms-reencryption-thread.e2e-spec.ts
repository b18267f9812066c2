import { KmsModule, KmsService } from '@nest-kms/kms';
import { KmsStorage } from '@nest-kms/kms/extension';
import { Test } from '@nestjs/testing';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import type { DataSource } from 'typeorm';
import { CapturedLogger } from './support/captured-logger.js';
import { PROJECT_ROOT, bundleChildEntry } from './support/child-process.js';
import { ENGINES, createTestDatabase, type TestDatabase } from './support/databases.js';
import { newMasterKey } from './support/kms-fixture.js';
import { NoteEntity, NotesRegistration } from './support/notes-fixture.js';

/*
 * Re-encryption with its rewrap on a thread of its own, as it runs from the compiled package
 * (the TypeScript sources have no compiled entry, so other suites rewrap on the main thread):
 * the entry is bundled here and handed to the job.
 */
/** The job's provider of the entry (libs/kms/src/reencryption/reencryption.constants.ts). */
const REWRAP_WORKER_ENTRY = Symbol.for('nest-kms:rewrap-worker-entry');

describe.each(ENGINES)('re-encryption on the rewrap thread on %s', (engine) => {
  let db: TestDatabase;
  let entry: string;
  const closing: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    entry = await bundleChildEntry(
      join(PROJECT_ROOT, 'libs/kms/src/reencryption/rewrap.worker.ts'),
    );
  });

  beforeEach(async () => {
    db = await createTestDatabase(engine);
  });

  afterEach(async () => {
    for (const close of closing.splice(0)) await close();
    await db.drop();
  });

  async function start(masterKey: string) {
    const logger = new CapturedLogger();
    const moduleRef = await Test.createTestingModule({
      imports: [
        KmsModule.forRoot({
          masterKey,
          connection: db.connection,
          rotation: { checkIntervalMs: 0 },
          reencryption: { auto: false },
        }),
      ],
      providers: [NotesRegistration],
    })
      .overrideProvider(REWRAP_WORKER_ENTRY)
      .useValue(entry)
      .setLogger(logger)
      .compile();
    const app = await moduleRef.init();
    closing.push(() => app.close());
    const dataSource: DataSource = await app.get(KmsStorage).dataSource();
    return { kms: app.get(KmsService), logger, notes: dataSource.getRepository(NoteEntity) };
  }

  it('moves every envelope it can open, leaves a tampered one counted, and everything reads back', async () => {
    const { kms, logger, notes } = await start(newMasterKey());
    const written = new Map<string, string>();
    const rows = [];
    for (let i = 0; i < 1_100; i++) {
      const id = `note-${i}`;
      written.set(id, `note-secret-${i}`);
      rows.push({ id, body: await kms.encryptToString(`note-secret-${i}`, { aad: id }) });
    }
    const first = kms.getStatus().activeKeyId!;
    await kms.rotateDataKey();
    const second = kms.getStatus().activeKeyId!;
    // Under two retired keys, and one value whose ciphertext was changed.
    rows.push({ id: 'later', body: await kms.encryptToString('later-secret', { aad: 'later' }) });
    written.set('later', 'later-secret');
    const parts = rows[7].body.split('.');
    const ciphertext = Buffer.from(parts[5], 'base64url');
    ciphertext[0] ^= 1;
    parts[5] = ciphertext.toString('base64url');
    const tampered = parts.join('.');
    rows[7] = { id: rows[7].id, body: tampered };
    written.delete(rows[7].id);
    for (let i = 0; i < rows.length; i += 200) await notes.insert(rows.slice(i, i + 200));
    const { keyId: active } = await kms.rotateDataKey();

    const exits: Promise<number>[] = [];
    const started = (worker: Worker) =>
      exits.push(new Promise((resolve) => worker.once('exit', resolve)));
    process.on('worker', started);
    const result = await kms.reencrypt({ batchSize: 500 }).finally(() => {
      process.off('worker', started);
    });

    // One thread for the run, gone when the run is: it leaves of its own accord, keys zeroed.
    expect(await Promise.all(exits)).toEqual([0]);

    expect(result).toMatchObject({ ran: true, moved: 1_100, failed: 1, remaining: 1 });
    expect(logger.events('reencryption_failed')).toEqual([
      expect.objectContaining({ column: 'test_notes.body', code: 'KMS_DECRYPTION_FAILED' }),
    ]);
    expect(await kms.countEnvelopesUsing(first)).toBe(1);
    expect(await kms.countEnvelopesUsing(second)).toBe(0);
    expect(await kms.countEnvelopesUsing(active)).toBe(1_100);
    for (const row of await notes.find()) {
      if (row.id === 'note-7') {
        expect(row.body).toBe(tampered);
        continue;
      }
      expect(row.body!.startsWith(`kms1.${active}.`)).toBe(true);
      expect(await kms.decryptData(row.body!, { aad: row.id })).toBe(written.get(row.id));
    }
    expect(await kms.reencrypt()).toMatchObject({ ran: true, moved: 0, failed: 1, remaining: 1 });
  });

  it("moves tenants' envelopes beside the thread's, each to its own tenant's active key", async () => {
    const { kms, notes } = await start(newMasterKey());
    const written = new Map<string, { tenant?: string; value: string }>();
    const rows = [];
    for (let i = 0; i < 600; i++) {
      // Rows of the keyring and of two tenants alternate in key order, so every batch mixes them.
      const tenant = [undefined, 'acme', 'globex'][i % 3];
      const id = `note-${String(i).padStart(4, '0')}`;
      const value = `note-secret-${i}`;
      written.set(id, { tenant, value });
      rows.push({ id, body: await kms.encryptToString(value, { aad: id, tenant }) });
    }
    for (let i = 0; i < rows.length; i += 200) await notes.insert(rows.slice(i, i + 200));
    const acme = (await kms.rotateTenantKey('acme')).keyId;
    const globex = (await kms.rotateTenantKey('globex')).keyId;
    const { keyId: active } = await kms.rotateDataKey();

    const result = await kms.reencrypt({ batchSize: 150 });

    expect(result).toMatchObject({ ran: true, moved: 600, failed: 0, remaining: 0 });
    const under = { acme, globex };
    for (const row of await notes.find()) {
      const { tenant, value } = written.get(row.id)!;
      const keyId = tenant === undefined ? active : under[tenant as keyof typeof under];
      expect(row.body!.startsWith(`kms1.${keyId}.`)).toBe(true);
      expect(await kms.decryptData(row.body!, { aad: row.id, tenant })).toBe(value);
    }
    expect(await kms.reencrypt()).toMatchObject({ ran: true, moved: 0, failed: 0, remaining: 0 });
  });
});
