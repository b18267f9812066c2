import { readFileSync } from 'node:fs';
import { type EnvelopeV1 } from '@nest-kms/kms';
import {
  KMS_REPLICA_ENTRY,
  bundleChildEntry,
  replicaDatabaseEnv,
  startChild,
  type ChildEvent,
  type ChildHandle,
} from './support/child-process.js';
import { ENGINES, createTestDatabase, type TestDatabase } from './support/databases.js';
import { KmsFixture, newMasterKey } from './support/kms-fixture.js';
import { startSecretsApp } from './support/secrets-fixture.js';

/*
 * The child-process harness itself: the replica entry bundles, boots as a real separate Node
 * process on the suite's database, and what it reports is what the database holds, also after
 * a SIGKILL at an arbitrary point.
 */

let bundle: string;

beforeAll(async () => {
  const began = performance.now();
  bundle = await bundleChildEntry(KMS_REPLICA_ENTRY);
  console.log(`[child-process] bundled kms-replica in ${Math.round(performance.now() - began)} ms`);
});

describe('bundleChildEntry', () => {
  it('bundles project sources and keeps packages as imports, once per test process', async () => {
    const began = performance.now();
    expect(await bundleChildEntry(KMS_REPLICA_ENTRY)).toBe(bundle);
    expect(performance.now() - began).toBeLessThan(100);

    const code = readFileSync(bundle, 'utf8');
    expect(code).not.toMatch(/from ["']@nest-kms\//);
    expect(code).toMatch(/from ["']@nestjs\/common["']/);
    expect(code).toMatch(/from ["']typeorm["']/);
    expect(code).toContain('"design:paramtypes"');
  });

  // The child refuses the action before it opens a database: one run covers both engines.
  it('reports a failure with its stderr: waitFor rejects when the child exits first', async () => {
    const child = startChild(bundle, { args: ['no-such-action'] });
    await expect(child.waitFor('ready')).rejects.toThrow(/exited \(code 1.*unknown action/s);
    expect(child.events('error')[0]).toMatchObject({ message: /unknown action/ });
  });
});

describe.each(ENGINES)('child-process harness on %s', (engine) => {
  let db: TestDatabase;
  let masterKey: string;

  beforeEach(async () => {
    db = await createTestDatabase(engine);
    masterKey = newMasterKey();
  });

  afterEach(async () => {
    await db.drop();
  });

  function replica(args: string[]): ChildHandle {
    return startChild(bundle, {
      env: { ...replicaDatabaseEnv(db), KMS_MASTER_KEY: masterKey },
      args,
    });
  }

  it('boots a replica, which encrypts and exits 0; the parent decrypts every envelope', async () => {
    const began = performance.now();
    const child = replica(['encrypt', '20']);
    const ready = await child.waitFor('ready');
    const readyMs = Math.round(performance.now() - began);
    expect(ready.status).toMatchObject({ initialized: true, masterKeyPresent: true });

    await child.waitFor('done');
    expect(await child.exited).toEqual({ code: 0, signal: null });
    console.log(
      `[child-process] ${engine}: spawn to ready ${readyMs} ms (child: imports loaded at ${String(ready.loadedMs)} ms, ready at ${String(ready.uptimeMs)} ms), ` +
        `to exit ${Math.round(performance.now() - began)} ms`,
    );

    const envelopes = child.events('envelope');
    expect(envelopes).toHaveLength(20);
    const parent = await KmsFixture.start(db, masterKey);
    try {
      for (const event of envelopes) {
        expect(await parent.kms.decryptData(event.envelope as EnvelopeV1)).toBe(event.plaintext);
      }
      expect(parent.kms.getStatus().activeKeyId).toBe(
        (ready.status as { activeKeyId: string }).activeKeyId,
      );
    } finally {
      await parent.close();
    }
  });

  it('stops a ready replica on SIGTERM and on the end of its stdin', async () => {
    const first = replica(['ready']);
    await first.waitFor('ready');
    first.kill('SIGTERM');
    expect(await first.exited).toEqual({ code: 0, signal: null });
    expect(first.events('stopping')[0]).toMatchObject({ reason: 'SIGTERM' });

    const second = replica(['ready']);
    await second.waitFor('ready');
    second.closeStdin();
    expect(await second.exited).toEqual({ code: 0, signal: null });
    expect(second.events('stopping')[0]).toMatchObject({ reason: 'stdin closed' });
  });

  it('a replica SIGKILLed mid set-secrets leaves a database where every reported secret reads back', async () => {
    const child = replica(['set-secrets', '500']);
    await child.waitFor('ready');
    // An arbitrary point: after the k-th reported write, k in [5, 60].
    const k = 5 + Math.floor(Math.random() * 56);
    await child.waitFor(
      (event: ChildEvent) => event.event === 'secret-stored' && event.index === k,
    );
    child.kill('SIGKILL');
    expect(await child.exited).toEqual({ code: null, signal: 'SIGKILL' });

    const reported = child.events('secret-stored');
    expect(reported.length).toBeGreaterThan(k);
    expect(reported.length).toBeLessThan(500);

    const parent = await startSecretsApp(db, { masterKey });
    try {
      for (const event of reported) {
        const index = Number(event.index);
        expect(await parent.secrets.getSecret(`s-${index}`)).toBe(`value-${index}`);
      }
      // Whatever else got stored before the kill (at most a write in flight) is whole too.
      const stored = await parent.secrets.listSecrets();
      expect(stored.length).toBeGreaterThanOrEqual(reported.length);
      expect(stored.length).toBeLessThanOrEqual(reported.length + 1);
      for (const { name } of stored) {
        expect(await parent.secrets.getSecret(name)).toBe(name.replace(/^s-/, 'value-'));
      }
    } finally {
      await parent.close();
    }
  });
});
