import { Module, ServiceUnavailableException } from '@nestjs/common';
import { ScheduleModule, SchedulerRegistry } from '@nestjs/schedule';
import { HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Column, Entity, PrimaryColumn } from 'typeorm';
import {
  DataKeyNotFoundError,
  DataKeyInUseError,
  KMS_DATA_KEY_ROTATION_JOB,
  KMS_ENTITIES,
  KMS_MIGRATIONS,
  KMS_REENCRYPTION_JOB,
  KmsDatabase,
  KmsHealthIndicator,
  KmsModule,
  KmsService,
  type KmsModuleOptions,
  type ReencryptOptions,
  type ReencryptionProgress,
} from '@nest-kms/kms';
import { KmsStorage } from '@nest-kms/kms/extension';
import { kmsTestingOptions } from '@nest-kms/kms/testing';
import { caught } from './support/caught.js';
import { databaseOutage, type DatabaseOutage } from './support/database-outage.js';
import { ENGINES, createTestDatabase, type TestDatabase } from './support/databases.js';
import { newMasterKey, startTestApp } from './support/kms-fixture.js';

/*
 * What an application gets besides KmsService: the testing options, the health indicator,
 * the shared-database queue and the names of the scheduled jobs.
 */

type Started = Awaited<ReturnType<typeof startTestApp>>;

/** An application's own table of envelopes made with encryptToString(). */
@Entity({ name: 'app_tokens' })
class AppToken {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id: string;

  @Column({ type: 'text' })
  token: string;
}

describe('kmsTestingOptions', () => {
  const apps: Started[] = [];
  const start = async (options: KmsModuleOptions) => {
    const started = await startTestApp({ imports: [KmsModule.forRoot(options)] });
    apps.push(started);
    return started.app.get(KmsService);
  };

  afterEach(async () => {
    for (const { app } of apps.splice(0)) await app.close();
  });

  it('starts the KMS on in-memory SQLite with a key of its own', async () => {
    const kms = await start(kmsTestingOptions());
    const envelope = await kms.encryptData('in a test', { aad: 'ctx' });
    expect(await kms.decryptData(envelope, { aad: 'ctx' })).toBe('in a test');
    expect(kms.getStatus()).toMatchObject({ initialized: true, dataKeysCount: 1 });

    const other = await start(kmsTestingOptions());
    expect(other.getStatus().masterKeyFingerprint).not.toBe(kms.getStatus().masterKeyFingerprint);
    expect(await caught(() => other.decryptData(envelope, { aad: 'ctx' }))).toBeInstanceOf(
      DataKeyNotFoundError,
    );
  });

  it('lets overrides win', async () => {
    const masterKey = newMasterKey();
    const first = await start(kmsTestingOptions({ masterKey }));
    const second = await start(kmsTestingOptions({ masterKey, initializeOnStart: false }));
    expect(second.getStatus().initialized).toBe(false);
    await second.initialize();
    expect(second.getStatus().masterKeyFingerprint).toBe(first.getStatus().masterKeyFingerprint);
  });

  it('re-encrypts with named options', async () => {
    const kms = await start(kmsTestingOptions());
    const progress: ReencryptionProgress[] = [];
    const options: ReencryptOptions = { batchSize: 10, onProgress: (p) => progress.push(p) };
    const result = await kms.reencrypt(options);
    expect(result).toMatchObject({ ran: true, moved: 0, failed: 0, remaining: 0 });
  });
});

describe.each(ENGINES)('on %s', (engine) => {
  let db: TestDatabase;
  let outage: DatabaseOutage | undefined;
  const apps: Started[] = [];

  beforeEach(async () => {
    db = await createTestDatabase(engine);
  });

  afterEach(async () => {
    for (const { app } of apps.splice(0)) await app.close();
    await outage?.close();
    outage = undefined;
    await db.drop();
  });

  describe('KmsHealthIndicator', () => {
    const startHealth = async (options: Partial<KmsModuleOptions> = {}) => {
      outage = await databaseOutage(db);
      const started = await startTestApp({
        imports: [
          TerminusModule.forRoot({ logger: false }),
          KmsModule.forRoot({
            masterKey: newMasterKey(),
            connection: outage.connection,
            // Short limits, so that a database that does not answer is reported quickly.
            database: { connectTimeoutMs: 1000, statementTimeoutMs: 1000 },
            ...options,
          }),
        ],
      });
      apps.push(started);
      const health = started.app.get(HealthCheckService);
      const indicator = started.app.get(KmsHealthIndicator);
      const check = () =>
        health.check([
          () => indicator.isReady('kms'),
          () => indicator.isDatabaseUp('database', { timeoutMs: 5000 }),
        ]);
      return { started, check, kms: started.app.get(KmsService) };
    };

    it('reports the keyring and the database up through Terminus', async () => {
      const { check } = await startHealth();
      expect(await check()).toMatchObject({
        status: 'ok',
        details: { kms: { status: 'up', dataKeys: 1 }, database: { status: 'up' } },
      });
    });

    it('reports the keyring down until it is loaded', async () => {
      const { check, kms } = await startHealth({ initializeOnStart: false });
      const error = await caught(check);
      expect(error).toBeInstanceOf(ServiceUnavailableException);
      expect((error as ServiceUnavailableException).getResponse()).toMatchObject({
        status: 'error',
        error: { kms: { status: 'down', initialized: false } },
      });
      await kms.initialize();
      expect(await check()).toMatchObject({ status: 'ok' });
    });

    it('reports the database down with a reason while it is unavailable, and up again after', async () => {
      const { check } = await startHealth();
      outage!.refuse();
      const error = await caught(check);
      expect(error).toBeInstanceOf(ServiceUnavailableException);
      const report = (error as ServiceUnavailableException).getResponse() as {
        error: Record<string, { status: string; reason?: unknown }>;
        info: Record<string, { status: string }>;
      };
      expect(report.error.database).toMatchObject({ status: 'down' });
      expect(typeof report.error.database.reason).toBe('string');
      // Encryption works from memory: the keyring stays up.
      expect(report.info.kms).toMatchObject({ status: 'up' });
      outage!.restore();
      expect(await check()).toMatchObject({ status: 'ok' });
    });
  });

  describe('KmsDatabase', () => {
    it("queues the application's statements behind nest-kms's open transaction", async () => {
      const started = await startTestApp({
        imports: [KmsModule.forRoot({ masterKey: newMasterKey(), connection: db.connection })],
      });
      apps.push(started);
      const database = started.app.get(KmsDatabase);
      const storage = started.app.get(KmsStorage);
      await database.run((ds) => ds.query('CREATE TABLE app_rows (id integer)'));

      // A transaction of nest-kms's that is open, then rolls back.
      let opened!: () => void;
      const isOpen = new Promise<void>((resolve) => (opened = resolve));
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      const kmsTransaction = storage.transaction(async () => {
        opened();
        await released;
        throw new Error('rolled back');
      });
      await isOpen;

      const write = database.run((ds) => ds.query('INSERT INTO app_rows (id) VALUES (1)'));
      release();
      await expect(kmsTransaction).rejects.toThrow('rolled back');
      await write;
      const rows = await database.run((ds) => ds.query('SELECT id FROM app_rows'));
      expect(rows).toEqual([{ id: 1 }]);
    });

    it("registers the application's own envelope column: re-encryption moves it and key destruction counts it", async () => {
      @Module({
        imports: [
          TypeOrmModule.forRoot({
            ...db.connection,
            entities: [...KMS_ENTITIES, AppToken],
            migrations: [...KMS_MIGRATIONS],
            migrationsRun: true,
          } as Parameters<typeof TypeOrmModule.forRoot>[0]),
          KmsModule.forRoot({
            masterKey: newMasterKey(),
            dataSource: 'default',
            reencryption: { auto: false },
          }),
        ],
      })
      class AppModule {}
      const started = await startTestApp({ imports: [AppModule] });
      apps.push(started);
      const kms = started.app.get(KmsService);
      const database = started.app.get(KmsDatabase);
      await database.run((ds) =>
        ds.query('CREATE TABLE app_tokens (id varchar(36) PRIMARY KEY, token text NOT NULL)'),
      );
      database.registerEnvelopeColumn({ entity: AppToken, envelope: 'token' });

      const token = await kms.encryptToString('a token', { aad: 'row-1' });
      await database.run((ds) => ds.getRepository(AppToken).insert({ id: 'row-1', token }));
      const { previousKeyId } = await kms.rotateDataKey();
      expect(await kms.countEnvelopesUsing(previousKeyId!)).toBe(1);
      expect(await caught(() => kms.destroyDataKey(previousKeyId!))).toBeInstanceOf(
        DataKeyInUseError,
      );

      expect(await kms.reencrypt(AppToken)).toMatchObject({ ran: true, moved: 1, failed: 0 });
      const stored = await database.run((ds) =>
        ds.getRepository(AppToken).findOneByOrFail({ id: 'row-1' }),
      );
      expect(stored.token).not.toBe(token);
      expect(await kms.decryptData(stored.token, { aad: 'row-1' })).toBe('a token');
      expect(await kms.countEnvelopesUsing(previousKeyId!)).toBe(0);
      await kms.destroyDataKey(previousKeyId!);
    });
  });
});

describe('job names', () => {
  it('name the intervals KmsModule registers in the application SchedulerRegistry', async () => {
    const started = await startTestApp({
      imports: [ScheduleModule.forRoot(), KmsModule.forRoot(kmsTestingOptions())],
    });
    try {
      const registry = started.app.get(SchedulerRegistry);
      expect(registry.doesExist('interval', KMS_DATA_KEY_ROTATION_JOB)).toBe(true);
      expect(registry.doesExist('interval', KMS_REENCRYPTION_JOB)).toBe(true);
    } finally {
      await started.app.close();
    }
  });
});
