import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import {
  KeyringIntegrityError,
  KMS_EVENTS,
  KmsConfigurationError,
  MasterKeyMismatchError,
  MasterKeyUnavailableError,
  LocalMasterKeyProvider,
  type KmsModuleOptions,
  type MasterKeyProvider,
} from '@nest-kms/kms';
import { caught } from './support/caught.js';
import { CapturedLogger, loggedEvents } from './support/captured-logger.js';
import { createTestDatabase, ENGINES, type TestDatabase } from './support/databases.js';
import { FaultyMasterKey } from './support/faulty-master-key.js';
import { KmsFixture, type KmsApp } from './support/kms-fixture.js';
import { openKmsTables, snapshotKmsTables, sqlQuery } from './support/kms-tables.js';

/** Short limits, so an unreachable master key fails in milliseconds. */
const CALLS: KmsModuleOptions['masterKeyCalls'] = {
  timeoutMs: 200,
  attempts: 2,
  backoffMs: 1,
  maxBackoffMs: 2,
  startupWaitMs: 0,
  probeIntervalMs: 0,
};

/** One remote master key (its bytes), seen by each replica through its own client. */
class RemoteKey {
  private readonly bytes = randomBytes(32);
  client(): FaultyMasterKey {
    return new FaultyMasterKey(this.bytes);
  }
  fingerprint(): Promise<string> {
    return this.client().fingerprint();
  }
}

for (const engine of ENGINES) {
  describe(`a keyring under several master keys (${engine})`, () => {
    let db: TestDatabase;
    let tables: DataSource;
    const apps: KmsApp[] = [];

    const start = async (
      masterKey: MasterKeyProvider,
      additionalMasterKeys: MasterKeyProvider[] = [],
    ): Promise<KmsApp> => {
      const app = await KmsFixture.register('forRoot', {
        masterKey,
        additionalMasterKeys,
        connection: db.connection,
        masterKeyCalls: CALLS,
        rotation: { checkIntervalMs: 0 },
        reencryption: { auto: false },
      });
      apps.push(app);
      return app;
    };

    const stop = async (app: KmsApp) => {
      apps.splice(apps.indexOf(app), 1);
      await app.close();
    };

    const wrapCount = async (fingerprint: string) =>
      Number(
        (
          await sqlQuery<{ n: number | string }>(
            tables,
            'SELECT COUNT(*) AS n FROM kms_master_key_wraps WHERE master_key_fingerprint = ?',
            [fingerprint],
          )
        )[0].n,
      );

    beforeEach(async () => {
      db = await createTestDatabase(engine);
      tables = await openKmsTables(db);
    });

    afterEach(async () => {
      for (const app of apps.splice(0)) await app.close();
      await tables.destroy();
      await db.drop();
    });

    it('wraps every key under a master key added to the configuration, and every new key after', async () => {
      const primary = new RemoteKey();
      const secondRegion = new RemoteKey();
      const breakGlass = randomBytes(32);
      const first = await start(primary.client());
      await first.kms.rotateDataKey();
      await first.kms.rotateDataKey();
      await stop(first);

      const app = await start(primary.client(), [
        secondRegion.client(),
        new LocalMasterKeyProvider(breakGlass),
      ]);
      const local = await new LocalMasterKeyProvider(breakGlass).fingerprint();
      // Three data keys and the blind-index root key.
      expect(await wrapCount(await secondRegion.fingerprint())).toBe(4);
      expect(await wrapCount(local)).toBe(4);
      await app.kms.rotateDataKey();
      expect(await wrapCount(await secondRegion.fingerprint())).toBe(5);
      expect(await app.kms.listMasterKeys()).toEqual([
        {
          fingerprint: await primary.fingerprint(),
          role: 'primary',
          held: true,
          keysWithoutWrap: 0,
        },
        ...[
          {
            fingerprint: await secondRegion.fingerprint(),
            role: 'additional',
            held: true,
            keysWithoutWrap: 0,
          },
          { fingerprint: local, role: 'additional', held: true, keysWithoutWrap: 0 },
        ].sort((a, b) => a.fingerprint.localeCompare(b.fingerprint)),
      ]);
    });

    it('records a wrap a master key missed while unreachable, and catches it up at the next lifecycle check', async () => {
      const primary = new RemoteKey();
      const secondRegion = new RemoteKey();
      const region = secondRegion.client();
      const app = await start(primary.client(), [region]);
      const fingerprint = await secondRegion.fingerprint();

      region.down = true;
      await app.kms.rotateDataKey();
      expect((await app.kms.listMasterKeys())[1]).toMatchObject({
        fingerprint,
        keysWithoutWrap: 1,
      });

      region.down = false;
      await app.kms.runLifecycle();
      expect((await app.kms.listMasterKeys())[1]).toMatchObject({
        fingerprint,
        keysWithoutWrap: 0,
      });
      expect(await wrapCount(fingerprint)).toBe(3);
    });

    it('opens keys with an additional master key, in order, while the primary is unreachable', async () => {
      const primary = new RemoteKey();
      const secondRegion = new RemoteKey();
      const writer = await start(primary.client(), [secondRegion.client()]);
      const replicaPrimary = primary.client();
      const replicaRegion = secondRegion.client();
      const replica = await start(replicaPrimary, [replicaRegion]);

      replicaPrimary.down = true;
      // Counted from before the rotation: on Postgres its notification may load the key in the
      // replica before the decryption asks for it; either way the key is unwrapped once.
      const unwrapsBefore = replicaRegion.calls.unwrap;
      await writer.kms.rotateDataKey();
      const sealed = await writer.kms.encryptToString('written in the first region');

      expect(await replica.kms.decryptData(sealed)).toBe('written in the first region');
      expect(replicaRegion.calls.unwrap).toBe(unwrapsBefore + 1);
    });

    it('starts while the primary is unreachable when an additional master key opens the keyring; rotation waits for the primary', async () => {
      const primary = new RemoteKey();
      const secondRegion = new RemoteKey();
      const first = await start(primary.client(), [secondRegion.client()]);
      const sealed = await first.kms.encryptToString('before the outage');
      await first.kms.rotateDataKey();
      await stop(first);

      const unreachable = primary.client();
      unreachable.down = true;
      const since = CapturedLogger.everything.length;
      const app = await start(unreachable, [secondRegion.client()]);

      expect(loggedEvents(KMS_EVENTS.masterKeyUnverified, since)).toHaveLength(1);
      expect(await app.kms.decryptData(sealed)).toBe('before the outage');
      expect(await app.kms.decryptData(await app.kms.encryptToString('during'))).toBe('during');
      expect(await caught(() => app.kms.rotateDataKey())).toBeInstanceOf(MasterKeyUnavailableError);

      unreachable.down = false;
      await app.kms.rotateDataKey();
      expect(await app.kms.listDataKeys()).toHaveLength(3);
    });

    it('checks a primary that was unreachable at start-up when it answers: another key under its fingerprint is refused, nothing written', async () => {
      const primary = new RemoteKey();
      const secondRegion = new RemoteKey();
      await stop(await start(primary.client(), [secondRegion.client()]));
      const impostor = new FaultyMasterKey(randomBytes(32), await primary.fingerprint());
      impostor.down = true;
      const app = await start(impostor, [secondRegion.client()]);
      const before = await snapshotKmsTables(tables);

      impostor.down = false;
      const error = await caught(() => app.kms.rotateDataKey());

      expect(error).toBeInstanceOf(MasterKeyMismatchError);
      expect(await snapshotKmsTables(tables)).toEqual(before);
    });

    it('refuses to start with an additional master key that does not open its wraps, naming it; nothing is written', async () => {
      const primary = new RemoteKey();
      const secondRegion = new RemoteKey();
      const fingerprint = await secondRegion.fingerprint();
      await stop(await start(primary.client(), [secondRegion.client()]));
      const before = await snapshotKmsTables(tables);

      const impostor = new FaultyMasterKey(randomBytes(32), fingerprint);
      const error = await caught(() => start(primary.client(), [impostor]));

      expect(error).toBeInstanceOf(KeyringIntegrityError);
      expect(error.message).toContain(fingerprint);
      expect(await snapshotKmsTables(tables)).toEqual(before);
    });

    it('fails over: an additional master key configured as the master key becomes the primary, and every envelope still opens', async () => {
      const primary = new RemoteKey();
      const secondRegion = new RemoteKey();
      const first = await start(primary.client(), [secondRegion.client()]);
      const early = await first.kms.encryptToString('before the rotation');
      await first.kms.rotateDataKey();
      const late = await first.kms.encryptToString('after the rotation');
      await stop(first);

      // The first region is gone: only its replica key is configured.
      const app = await start(secondRegion.client());

      expect(await app.kms.decryptData(early)).toBe('before the rotation');
      expect(await app.kms.decryptData(late)).toBe('after the rotation');
      expect(await app.kms.listMasterKeys()).toEqual([
        {
          fingerprint: await secondRegion.fingerprint(),
          role: 'primary',
          held: true,
          keysWithoutWrap: 0,
        },
        {
          fingerprint: await primary.fingerprint(),
          role: 'additional',
          held: false,
          keysWithoutWrap: 0,
        },
      ]);
      await app.kms.rotateDataKey();
      expect(await app.kms.decryptData(await app.kms.encryptToString('in the new primary'))).toBe(
        'in the new primary',
      );
    });

    it("refuses a replica that names another primary while still holding the keyring's, so replicas cannot take the keyring from each other", async () => {
      const primary = new RemoteKey();
      const secondRegion = new RemoteKey();
      await stop(await start(primary.client(), [secondRegion.client()]));
      const before = await snapshotKmsTables(tables);

      const error = await caught(() => start(secondRegion.client(), [primary.client()]));

      expect(error).toBeInstanceOf(KmsConfigurationError);
      expect(error.message).toContain(await primary.fingerprint());
      expect(await snapshotKmsTables(tables)).toEqual(before);
    });

    it('refuses to fail over to a master key that is missing a wrap; nothing is written', async () => {
      const primary = new RemoteKey();
      const secondRegion = new RemoteKey();
      const region = secondRegion.client();
      const first = await start(primary.client(), [region]);
      region.down = true;
      await first.kms.rotateDataKey();
      await stop(first);
      const before = await snapshotKmsTables(tables);

      const error = await caught(() => start(secondRegion.client()));

      expect(error).toBeInstanceOf(KeyringIntegrityError);
      expect(error.message).toContain(await secondRegion.fingerprint());
      expect(await snapshotKmsTables(tables)).toEqual(before);
      // The primary still opens everything.
      await start(primary.client());
    });

    it('removes an additional master key (its wraps only), never the primary; a destroyed data key leaves no wrap', async () => {
      const primary = new RemoteKey();
      const secondRegion = new RemoteKey();
      const breakGlass = new RemoteKey();
      const app = await start(primary.client(), [secondRegion.client(), breakGlass.client()]);
      const { previousKeyId } = await app.kms.rotateDataKey();

      await app.kms.destroyDataKey(previousKeyId!);
      expect(await wrapCount(await secondRegion.fingerprint())).toBe(2);

      expect(await app.kms.removeMasterKey(await breakGlass.fingerprint())).toBe(2);
      expect(await wrapCount(await breakGlass.fingerprint())).toBe(0);
      expect(await wrapCount(await secondRegion.fingerprint())).toBe(2);
      expect(
        await caught(() => app.kms.removeMasterKey(app.kms.getStatus().masterKeyFingerprint!)),
      ).toBeInstanceOf(KmsConfigurationError);
    });

    it('never logs a master key or a data key', async () => {
      const bytes = randomBytes(32);
      const app = await start(new FaultyMasterKey(randomBytes(32)), [
        new LocalMasterKeyProvider(bytes),
      ]);
      await app.kms.rotateDataKey();
      expect(CapturedLogger.allText()).not.toContain(bytes.toString('base64'));
      expect(CapturedLogger.allText()).not.toContain(bytes.toString('hex'));
    });
  });
}
