import { Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import { mkdtempSync, readFileSync, rmSync, statSync, chmodSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  KMS_ENTITIES,
  KMS_MIGRATIONS,
  KmsConfigurationError,
  KmsModule,
  KmsService,
  MasterKeyMissingError,
  type KmsModuleOptions,
} from '@nest-kms/kms';
import { ENGINES, createTestDatabase, type TestDatabase } from './support/databases.js';
import { CapturedLogger } from './support/captured-logger.js';
import { KmsFixture, newMasterKey, type KmsApp } from './support/kms-fixture.js';
import { openKmsTables } from './support/kms-tables.js';

describe.each(ENGINES)('KmsModule on %s', (engine) => {
  let db: TestDatabase;
  const apps: KmsApp[] = [];

  beforeEach(async () => {
    db = await createTestDatabase(engine);
  });

  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    await db.drop();
  });

  it.each(['forRoot', 'useFactory', 'useClass', 'useExisting'] as const)(
    'registered with %s serves the same keyring',
    async (style) => {
      const masterKey = newMasterKey();
      const reference = await KmsFixture.start(db, masterKey);
      apps.push(reference);
      const envelope = await reference.kms.encryptData('same keyring', { aad: 'ctx' });

      const app = await KmsFixture.register(style, { masterKey, connection: db.connection });
      apps.push(app);
      expect(await app.kms.decryptData(envelope, { aad: 'ctx' })).toBe('same keyring');
      expect(app.kms.getStatus()).toMatchObject({
        initialized: true,
        activeKeyId: reference.kms.getStatus().activeKeyId,
        masterKeyFingerprint: reference.kms.getStatus().masterKeyFingerprint,
      });
    },
  );

  it('uses the application DataSource registered with TypeOrmModule, by name', async () => {
    @Module({
      imports: [
        TypeOrmModule.forRoot({
          ...db.connection,
          name: 'appdb',
          entities: [...KMS_ENTITIES],
          migrations: [...KMS_MIGRATIONS],
          migrationsRun: true,
        } as Parameters<typeof TypeOrmModule.forRoot>[0]),
        KmsModule.forRoot({ masterKey: newMasterKey(), dataSource: 'appdb' }),
      ],
    })
    class AppModule {}
    const app = await Test.createTestingModule({ imports: [AppModule] })
      .setLogger(new CapturedLogger())
      .compile();
    await app.init();
    const kms = app.get(KmsService);
    expect(await kms.decryptData(await kms.encryptData('on the app database'))).toBe(
      'on the app database',
    );
    const tables = await openKmsTables(db);
    expect(await tables.query('SELECT id FROM kms_data_keys')).toHaveLength(1);
    await tables.destroy();
    await app.close();
  });

  it('refuses an application DataSource without the KMS entities, naming the fix', async () => {
    @Module({
      imports: [
        TypeOrmModule.forRoot({ ...db.connection, entities: [] } as Parameters<
          typeof TypeOrmModule.forRoot
        >[0]),
        KmsModule.forRoot({ masterKey: newMasterKey(), dataSource: 'default' }),
      ],
    })
    class AppModule {}
    const app = await Test.createTestingModule({ imports: [AppModule] })
      .setLogger(new CapturedLogger())
      .compile();
    const failure = await app.init().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(KmsConfigurationError);
    expect((failure as Error).message).toContain('KMS_ENTITIES');
    await app.close();
  });

  it('ships migrations that create exactly the schema of its entities', async () => {
    const tables = await openKmsTables(db);
    const pending = await tables.driver.createSchemaBuilder().log();
    expect(pending.upQueries.map((query) => query.query)).toEqual([]);
    await tables.destroy();
  });
});

describe('master key sources', () => {
  let db: TestDatabase;
  let dir: string;
  const saved = { NODE_ENV: process.env.NODE_ENV, KMS_MASTER_KEY: process.env.KMS_MASTER_KEY };

  beforeEach(async () => {
    db = await createTestDatabase('sqlite');
    dir = mkdtempSync(join(tmpdir(), 'nest-kms-key-'));
    delete process.env.KMS_MASTER_KEY;
    delete process.env.NODE_ENV;
  });

  afterEach(async () => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    rmSync(dir, { recursive: true, force: true });
    await db.drop();
  });

  const startWith = (options: KmsModuleOptions) =>
    KmsFixture.register('forRoot', { connection: db.connection, ...options });

  it('reads KMS_MASTER_KEY when no key is passed', async () => {
    const masterKey = newMasterKey();
    process.env.KMS_MASTER_KEY = masterKey;
    const fromEnv = await startWith({});
    const envelope = await fromEnv.kms.encryptData('env key');
    await fromEnv.close();
    delete process.env.KMS_MASTER_KEY;
    const fromOption = await startWith({ masterKey });
    expect(await fromOption.kms.decryptData(envelope)).toBe('env key');
    await fromOption.close();
  });

  it('never generates a key unless asked to', async () => {
    const failure = await startWith({}).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(MasterKeyMissingError);
    expect((failure as MasterKeyMissingError).code).toBe('KMS_MASTER_KEY_MISSING');
    expect((failure as Error).message).toContain('KMS_MASTER_KEY');
  });

  it('generates a development key file (owner-only), reuses it, and never logs the key', async () => {
    const file = join(dir, 'nested', 'dev-master.key');
    const first = await startWith({ developmentMasterKeyFile: file });
    const envelope = await first.kms.encryptData('dev data');
    const fingerprint = first.kms.getStatus().masterKeyFingerprint;
    const key = readFileSync(file, 'utf8').trim();
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(Buffer.from(key, 'base64')).toHaveLength(32);
    expect(first.logger.events('kms_development_master_key')).toEqual([
      expect.objectContaining({ file, created: true }),
    ]);
    expect(first.logger.text()).not.toContain(key);
    await first.close();

    const second = await startWith({ developmentMasterKeyFile: file });
    expect(second.kms.getStatus().masterKeyFingerprint).toBe(fingerprint);
    expect(await second.kms.decryptData(envelope)).toBe('dev data');
    expect(second.logger.events('kms_development_master_key')).toEqual([
      expect.objectContaining({ file, created: false }),
    ]);
    expect(second.logger.text()).not.toContain(key);
    await second.close();
  });

  it('refuses a development key file that group or others can read', async () => {
    const file = join(dir, 'dev-master.key');
    const first = await startWith({ developmentMasterKeyFile: file });
    await first.close();
    chmodSync(file, 0o644);
    const failure = await startWith({ developmentMasterKeyFile: file }).catch(
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(KmsConfigurationError);
    expect((failure as Error).message).toContain('chmod 600');
  });

  it('in production, refuses to start without KMS_MASTER_KEY and generates nothing', async () => {
    process.env.NODE_ENV = 'production';
    const file = join(dir, 'dev-master.key');
    const failure = await startWith({ developmentMasterKeyFile: file }).catch(
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(MasterKeyMissingError);
    expect((failure as Error).message).toContain('NODE_ENV is production');
    expect(existsSync(file)).toBe(false);
  });

  it('in production, refuses to fall back to a private SQLite file', async () => {
    process.env.NODE_ENV = 'production';
    const failure = await KmsFixture.register('forRoot', { masterKey: newMasterKey() }).catch(
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(KmsConfigurationError);
    expect((failure as Error).message).toContain('production');
  });
});
