import { randomBytes } from 'node:crypto';
import {
  KmsMetrics,
  KMS_EVENTS,
  MasterKeyProviderError,
  MasterKeyUnavailableError,
  type KmsModuleOptions,
} from '@nest-kms/kms';
import { caught } from './support/caught.js';
import { CapturedLogger, loggedEvents } from './support/captured-logger.js';
import { createTestDatabase, ENGINES, type TestDatabase } from './support/databases.js';
import { eventually } from './support/eventually.js';
import { FaultyMasterKey, UNTYPED_ERROR_TEXT } from './support/faulty-master-key.js';
import { KmsFixture, type KmsApp } from './support/kms-fixture.js';

/** Short limits, so every failure path ends in milliseconds. */
const CALLS: KmsModuleOptions['masterKeyCalls'] = {
  timeoutMs: 100,
  attempts: 3,
  backoffMs: 1,
  maxBackoffMs: 5,
  startupWaitMs: 200,
  probeIntervalMs: 0,
};

for (const engine of ENGINES) {
  describe(`calls to the master key provider (${engine})`, () => {
    let db: TestDatabase;
    let masterKey: Buffer;
    const apps: KmsApp[] = [];

    const start = async (
      provider: FaultyMasterKey,
      calls: KmsModuleOptions['masterKeyCalls'] = CALLS,
    ): Promise<KmsApp> => {
      const app = await KmsFixture.register('forRoot', {
        masterKey: provider,
        connection: db.connection,
        masterKeyCalls: calls,
        rotation: { checkIntervalMs: 0 },
      });
      apps.push(app);
      return app;
    };

    const metric = async (app: KmsApp, name: string, labels: Record<string, string>) => {
      const samples = (await app.app.get(KmsMetrics).registry.getSingleMetric(name)!.get()).values;
      return samples
        .filter((sample) =>
          Object.entries(labels).every(([label, value]) => sample.labels[label] === value),
        )
        .reduce((sum, sample) => sum + sample.value, 0);
    };

    beforeEach(async () => {
      db = await createTestDatabase(engine);
      masterKey = randomBytes(32);
    });

    afterEach(async () => {
      for (const app of apps.splice(0)) await app.close();
      await db.drop();
    });

    it('retries a transient failure; the call succeeds, each attempt is counted and the recovery logged', async () => {
      const provider = new FaultyMasterKey(masterKey);
      const app = await start(provider);
      const wrapsBefore = provider.calls.wrap;
      const since = CapturedLogger.everything.length;
      provider.failNext('unavailable', 'unavailable');

      const rotation = await app.kms.rotateDataKey();

      expect(app.kms.getStatus().activeKeyId).toBe(rotation.keyId);
      expect(provider.calls.wrap - wrapsBefore).toBe(3);
      const wrap = { provider: 'faulty', operation: 'wrap' };
      expect(
        await metric(app, 'kms_master_key_calls_total', { ...wrap, outcome: 'unavailable' }),
      ).toBe(2);
      expect(
        await metric(app, 'kms_master_key_calls_total', { ...wrap, outcome: 'ok' }),
      ).toBeGreaterThanOrEqual(1);
      const failures = loggedEvents(KMS_EVENTS.masterKeyCallFailed, since);
      expect(failures).toHaveLength(2);
      expect(failures.map((failure) => failure.attempt)).toEqual([1, 2]);
      expect(failures.every((failure) => typeof failure.retryInMs === 'number')).toBe(true);
      expect(loggedEvents(KMS_EVENTS.masterKeyRecovered, since)).toHaveLength(1);
    });

    it('gives up after the configured attempts with a typed, retryable error, and changes nothing', async () => {
      const provider = new FaultyMasterKey(masterKey);
      const app = await start(provider);
      const before = app.kms.getStatus().activeKeyId;
      const keys = (await app.kms.listDataKeys()).length;
      const wrapsBefore = provider.calls.wrap;
      provider.failNext('unavailable', 'unavailable', 'unavailable');

      const error = await caught(() => app.kms.rotateDataKey());

      expect(error).toBeInstanceOf(MasterKeyUnavailableError);
      expect(error).toMatchObject({
        code: 'KMS_MASTER_KEY_UNAVAILABLE',
        retryable: true,
        provider: 'faulty',
      });
      expect(provider.calls.wrap - wrapsBefore).toBe(3);
      expect(app.kms.getStatus().activeKeyId).toBe(before);
      expect(await app.kms.listDataKeys()).toHaveLength(keys);
      // The next call finds the provider back and works.
      await app.kms.rotateDataKey();
    });

    it('never retries a refusal', async () => {
      const provider = new FaultyMasterKey(masterKey);
      const app = await start(provider);
      const wrapsBefore = provider.calls.wrap;
      provider.failNext('refused');

      const error = await caught(() => app.kms.rotateDataKey());

      expect(error).toBeInstanceOf(MasterKeyProviderError);
      expect(error).toMatchObject({ code: 'KMS_MASTER_KEY_PROVIDER_ERROR', retryable: false });
      expect(provider.calls.wrap - wrapsBefore).toBe(1);
    });

    it('abandons an attempt that does not answer within timeoutMs, aborting its signal', async () => {
      const provider = new FaultyMasterKey(masterKey);
      const app = await start(provider);
      provider.failNext('hang', 'hang', 'hang');

      const error = await caught(() => app.kms.rotateDataKey());

      expect(error).toBeInstanceOf(MasterKeyUnavailableError);
      expect(error.message).toContain('no answer within 100 ms');
      expect(provider.abandoned).toBe(3);
    });

    it('turns an error the provider did not type into MasterKeyProviderError without its text', async () => {
      const provider = new FaultyMasterKey(masterKey);
      const app = await start(provider);
      provider.failNext('untyped');

      const error = await caught(() => app.kms.rotateDataKey());

      expect(error).toBeInstanceOf(MasterKeyProviderError);
      expect(error.message).not.toContain(UNTYPED_ERROR_TEXT);
      expect(CapturedLogger.allText()).not.toContain(UNTYPED_ERROR_TEXT);
    });

    it('waits at start-up for a provider that is down, and starts once it answers', async () => {
      const provider = new FaultyMasterKey(masterKey);
      // Down for the first call's every attempt (not for a time: a slow start under load could
      // reach the provider only after it came back).
      provider.failNext(...Array.from({ length: CALLS!.attempts! }, () => 'unavailable' as const));
      const since = CapturedLogger.everything.length;

      const app = await start(provider, { ...CALLS, startupWaitMs: 30_000 });

      expect(app.kms.getStatus().initialized).toBe(true);
      expect(loggedEvents(KMS_EVENTS.masterKeyWaiting, since)).toHaveLength(1);
      expect(await app.kms.decryptData(await app.kms.encryptToString('after the wait'))).toBe(
        'after the wait',
      );
    });

    it('refuses to start after the start-up wait, naming the provider and the cause; nothing is written', async () => {
      const provider = new FaultyMasterKey(masterKey);
      provider.down = true;

      const error = await caught(() => start(provider));

      expect(error).toBeInstanceOf(MasterKeyUnavailableError);
      expect(error.message).toContain('faulty');
      expect(error.message).toContain('connection refused');
      expect(error.message).toContain('start-up wait of 200 ms');
      // The keyring was never created: the first healthy start creates it, with one key.
      const app = await start(new FaultyMasterKey(masterKey));
      expect(await app.kms.listDataKeys()).toHaveLength(1);
    });

    it('with the provider down after start-up, loaded keys work with no call to it; a key another replica made fails typed and retryable until the provider is back', async () => {
      const mine = new FaultyMasterKey(masterKey);
      const app = await start(mine);
      const sealed = await app.kms.encryptToString('before the outage');
      mine.down = true;
      const callsBefore = mine.callCount();

      for (let round = 0; round < 50; round++) {
        expect(await app.kms.decryptData(await app.kms.encryptToString(`value ${round}`))).toBe(
          `value ${round}`,
        );
      }
      expect(await app.kms.decryptData(sealed)).toBe('before the outage');
      expect(mine.callCount()).toBe(callsBefore);

      const other = await start(new FaultyMasterKey(masterKey));
      await other.kms.rotateDataKey();
      const underNewKey = await other.kms.encryptToString('from the other replica');

      const error = await caught(() => app.kms.decryptData(underNewKey));
      expect(error).toBeInstanceOf(MasterKeyUnavailableError);
      expect(error).toMatchObject({ retryable: true });

      mine.down = false;
      expect(await app.kms.decryptData(underNewKey)).toBe('from the other replica');
    });

    it('a replica loads a key another replica made while the provider is slow (within the time limit)', async () => {
      const mine = new FaultyMasterKey(masterKey);
      const app = await start(mine);
      const other = await start(new FaultyMasterKey(masterKey));
      // Counted from before the rotation: on Postgres the rotation's notification may load the
      // key in this replica before, or while, the decryptions below ask for it.
      mine.latencyMs = 60;
      const unwrapsBefore = mine.calls.unwrap;
      await other.kms.rotateDataKey();
      const sealed = await other.kms.encryptToString('made elsewhere');

      const opened = await Promise.all(
        Array.from({ length: 5 }, () => app.kms.decryptData(sealed)),
      );

      expect(opened).toEqual(Array.from({ length: 5 }, () => 'made elsewhere'));
      // Concurrent opens of the unknown key, and the notification's, share one load.
      expect(mine.calls.unwrap - unwrapsBefore).toBe(1);
    });

    it('probes the master key: the gauge shows an outage while it lasts, and the recovery is logged', async () => {
      const provider = new FaultyMasterKey(masterKey);
      const app = await start(provider, { ...CALLS, probeIntervalMs: 20 });
      const unreachable = () =>
        metric(app, 'kms_master_key_unreachable_seconds', { provider: 'faulty' });
      const since = CapturedLogger.everything.length;

      provider.down = true;
      await eventually(async () => expect(await unreachable()).toBeGreaterThan(0));
      provider.down = false;
      await eventually(async () => expect(await unreachable()).toBe(0));
      expect(loggedEvents(KMS_EVENTS.masterKeyRecovered, since)).toHaveLength(1);
    });
  });
}
