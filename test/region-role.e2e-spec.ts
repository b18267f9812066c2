import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import {
  DataKeyNotFoundError,
  DataKeyNotReplicatedError,
  KMS_DATA_KEY_ROTATION_JOB,
  KMS_REENCRYPTION_JOB,
  KmsConfigurationError,
  RegionReadOnlyError,
  type KmsModuleOptions,
  type KmsRegionOptions,
} from '@nest-kms/kms';
import { KMS_SCHEDULER_REGISTRY } from '@nest-kms/kms/extension';
import { SECRETS_LIFECYCLE_JOB } from '@nest-kms/secrets';
import type { SchedulerRegistry } from '@nestjs/schedule';
import { caught } from './support/caught.js';
import { createTestDatabase, ENGINES, type TestDatabase } from './support/databases.js';
import { newMasterKey } from './support/kms-fixture.js';
import { openKmsTables, sqlQuery } from './support/kms-tables.js';
import { startSecretsApp, type SecretsApp } from './support/secrets-fixture.js';

/*
 * A replica region (KmsModule option region.role = 'replica') reads the keyring and secrets the
 * primary region writes, and writes nothing itself: the same database stands in for a
 * subscriber here (the replication itself: test/multi-region.e2e-spec.ts).
 */
const REPLICA: KmsRegionOptions = { role: 'replica', primary: 'https://kms.eu-west-1.example' };

for (const engine of ENGINES) {
  describe(`a replica region (${engine})`, () => {
    let db: TestDatabase;
    let masterKey: string;
    const apps: SecretsApp[] = [];

    const start = async (
      region?: KmsRegionOptions,
      kms: Partial<KmsModuleOptions> = {},
    ): Promise<SecretsApp> => {
      const app = await startSecretsApp(db, {
        masterKey,
        kms: { region, rotation: { checkIntervalMs: 50 }, ...kms },
        secrets: { lifecycle: { checkIntervalMs: 50 } },
      });
      apps.push(app);
      return app;
    };

    beforeEach(async () => {
      db = await createTestDatabase(engine);
      masterKey = newMasterKey();
    });

    afterEach(async () => {
      for (const app of apps.splice(0)) await app.close();
      await db.drop();
    });

    it('reads, encrypts and decrypts what the primary wrote', async () => {
      const primary = await start();
      await primary.secrets.setSecret('svc/api-key', 'from-the-primary');
      const sealed = await primary.kms.encryptToString('sealed-by-the-primary');
      const replica = await start(REPLICA);

      expect(await replica.secrets.getSecret('svc/api-key')).toBe('from-the-primary');
      expect(await replica.kms.decryptData(sealed)).toBe('sealed-by-the-primary');
      const sealedHere = await replica.kms.encryptToString('sealed-in-the-replica');
      expect(await primary.kms.decryptData(sealedHere)).toBe('sealed-in-the-replica');
    });

    it('refuses every write with RegionReadOnlyError naming the primary, and writes nothing', async () => {
      const primary = await start();
      await primary.secrets.setSecret('svc/api-key', 'from-the-primary');
      const { previousKeyId } = await primary.kms.rotateDataKey();
      const exported = await primary.kms.exportKeyring();
      const backup = await primary.secrets.backupSecrets();
      const replica = await start(REPLICA);
      const tables = await openKmsTables(db);
      const snapshot = async () => [
        await sqlQuery(tables, 'SELECT id, status, wrapped_key FROM kms_data_keys ORDER BY id'),
        await sqlQuery(tables, 'SELECT name, current_version, deleted_at FROM kms_secrets'),
      ];
      try {
        const before = await snapshot();
        const writes: [string, () => Promise<unknown>][] = [
          ['rotateDataKey', () => replica.kms.rotateDataKey()],
          ['rotateMasterKey', () => replica.kms.rotateMasterKey(randomBytes(32))],
          ['destroyDataKey', () => replica.kms.destroyDataKey(previousKeyId!)],
          ['reencrypt', () => replica.kms.reencrypt()],
          ['removeMasterKey', () => replica.kms.removeMasterKey('local:0000')],
          ['runLifecycle', () => replica.kms.runLifecycle()],
          ['importKeyring', () => replica.kms.importKeyring(exported)],
          ['setSecret', () => replica.secrets.setSecret('svc/new', 'value')],
          ['rotateSecret', () => replica.secrets.rotateSecret('svc/api-key', 'another')],
          ['deleteSecret', () => replica.secrets.deleteSecret('svc/api-key')],
          ['recoverSecret', () => replica.secrets.recoverSecret('svc/api-key')],
          ['destroySecret', () => replica.secrets.destroySecret('svc/api-key')],
          ['restoreSecrets', () => replica.secrets.restoreSecrets(backup.artifact)],
          ['runLifecycle', () => replica.secrets.runLifecycle()],
        ];
        for (const [operation, write] of writes) {
          const error = await caught(write);
          expect(error, operation).toBeInstanceOf(RegionReadOnlyError);
          expect(error, operation).toMatchObject({
            code: 'KMS_REGION_READ_ONLY',
            operation,
            primary: REPLICA.primary,
          });
          expect(error.message, operation).toContain(REPLICA.primary);
        }
        expect(await snapshot()).toEqual(before);
      } finally {
        await tables.destroy();
      }
    });

    it('refuses an envelope under a key its database does not hold yet as not replicated (retryable), and opens it once the row is there', async () => {
      // An envelope under a key of another keyring stands in for one under a key on its way.
      const elsewhere = await createTestDatabase(engine);
      let sealed: string;
      let exported: Awaited<ReturnType<SecretsApp['kms']['exportKeyring']>>;
      try {
        const other = await startSecretsApp(elsewhere, { masterKey });
        sealed = await other.kms.encryptToString('sealed-under-a-key-on-its-way');
        exported = await other.kms.exportKeyring();
        await other.close();
      } finally {
        await elsewhere.drop();
      }
      const primary = await start();
      let now = Date.now();
      const replica = await start(REPLICA, { clock: () => now });

      const refused = await caught(() => replica.kms.decryptData(sealed));
      expect(refused).toBeInstanceOf(DataKeyNotReplicatedError);
      expect(refused).toMatchObject({ code: 'KMS_DATA_KEY_NOT_REPLICATED', retryable: true });
      // The primary writes every key: one it does not hold is not coming.
      const missing = await caught(() => primary.kms.decryptData(sealed));
      expect(missing).toBeInstanceOf(DataKeyNotFoundError);
      expect(missing).not.toHaveProperty('retryable');

      // The key's row arrives without a notice (an imported key is retired: nothing announces
      // it): the miss is answered from memory for 5 s of the replica's clock, and no longer.
      await primary.kms.importKeyring(exported);
      expect(await caught(() => replica.kms.decryptData(sealed))).toBeInstanceOf(
        DataKeyNotReplicatedError,
      );
      now += 5_000;
      expect(await replica.kms.decryptData(sealed)).toBe('sealed-under-a-key-on-its-way');
    });

    it('runs no scheduled job and writes no usage count', async () => {
      const primary = await start();
      await primary.secrets.setSecret('svc/api-key', 'from-the-primary');
      // The primary's own count written now, so that its scheduled check has nothing to add
      // while the replica is watched.
      await primary.kms.runLifecycle();
      const replica = await start(REPLICA);
      const intervals = replica.app.get<SchedulerRegistry>(KMS_SCHEDULER_REGISTRY).getIntervals();
      for (const job of [KMS_DATA_KEY_ROTATION_JOB, KMS_REENCRYPTION_JOB, SECRETS_LIFECYCLE_JOB]) {
        expect(intervals).not.toContain(job);
      }
      const tables = await openKmsTables(db);
      try {
        const usage = () =>
          sqlQuery<{ encryptions: string | number }>(
            tables,
            'SELECT encryptions FROM kms_data_keys',
          );
        const before = await usage();
        for (let i = 0; i < 20; i++) await replica.kms.encryptToString(`value ${i}`);
        await replica.app.close();
        apps.splice(apps.indexOf(replica), 1);
        expect(await usage()).toEqual(before);
      } finally {
        await tables.destroy();
      }
    });

    it('refuses to create a keyring where the primary has not made one', async () => {
      const error = await caught(() => start(REPLICA));
      expect(error).toBeInstanceOf(RegionReadOnlyError);
      expect(error).toMatchObject({ operation: 'creating the keyring' });
      const tables: DataSource = await openKmsTables(db);
      try {
        expect(await sqlQuery(tables, 'SELECT id FROM kms_keyring')).toEqual([]);
      } finally {
        await tables.destroy();
      }
    });

    it('refuses a role it does not know', async () => {
      const error = await caught(() => start({ role: 'secondary' as KmsRegionOptions['role'] }));
      expect(error).toBeInstanceOf(KmsConfigurationError);
      expect(error.message).toContain('region.role');
    });
  });
}
