import { Inject, Injectable, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { Test } from '@nestjs/testing';
import { TypeOrmModule, getDataSourceToken } from '@nestjs/typeorm';
import { IsString, MinLength } from 'class-validator';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataSource, DataSourceOptions } from 'typeorm';
import { KMS_ENTITIES, KMS_MIGRATIONS, KmsConfigurationError, KmsModule } from '@nest-kms/kms';
import { SECRETS_ENTITIES, SECRETS_MIGRATIONS, SecretsModule } from '@nest-kms/secrets';
import {
  ConfigNotLoadedError,
  FromEnv,
  FromSecret,
  InjectConfigService,
  KmsConfigModule,
  KmsConfigService,
} from '@nest-kms/config';
import { CapturedLogger } from './support/captured-logger.js';
import {
  LeakWatch,
  initOrClose,
  isolateEnv,
  loggedEvents,
  seedSecrets,
  startConfigApp,
} from './support/config-fixture.js';
import { ENGINES, createTestDatabase, type TestDatabase } from './support/databases.js';
import { newMasterKey } from './support/kms-fixture.js';
import { startSecretsApp } from './support/secrets-fixture.js';

const leaks = new LeakWatch();

class AppConfig {
  @FromEnv('SECOND_DATABASE') @IsString() secondDatabase: string;
  @FromSecret('API_KEY') @IsString() @MinLength(16) apiKey: string;
}

/** What an HTTP client module would build from the configuration in its factory. */
const API_CLIENT = Symbol('API_CLIENT');
const API_KEY_BY_SERVICE = Symbol('API_KEY_BY_SERVICE');

/** Builds its client in the constructor, as a library's service would. */
@Injectable()
class EagerClient {
  readonly authorization: string;
  constructor(config: AppConfig) {
    this.authorization = `Bearer ${config.apiKey}`;
  }
}

/** A second database whose options come from the configuration, read in the factory. */
function secondDatabase(engine: TestDatabase['engine']) {
  return TypeOrmModule.forRootAsync({
    name: 'second',
    inject: [AppConfig],
    useFactory: (config: AppConfig): DataSourceOptions =>
      engine === 'sqlite'
        ? { type: 'better-sqlite3', database: config.secondDatabase }
        : { type: 'postgres', url: config.secondDatabase },
  });
}

describe.each(ENGINES)('configuration read by its dependents at construction on %s', (engine) => {
  let db: TestDatabase;
  let second: TestDatabase;
  let masterKey: string;
  let apiKey: string;

  isolateEnv();

  beforeEach(async () => {
    db = await createTestDatabase(engine);
    second = await createTestDatabase(engine);
    masterKey = newMasterKey();
    apiKey = leaks.value('api-key');
    await seedSecrets(db, masterKey, { API_KEY: apiKey });
    const connection = second.connection as { url?: string; database?: string };
    process.env.SECOND_DATABASE = String(connection.url ?? connection.database);
  });

  afterEach(async () => {
    await db.drop();
    await second.drop();
  });

  afterAll(() => leaks.assertNoLeaks());

  it('hands factories and constructors the loaded configuration, the store started once', async () => {
    const since = CapturedLogger.everything.length;
    const app = await startConfigApp(db, {
      masterKey,
      schema: AppConfig,
      config: { loadBeforeDependents: true },
      imports: [secondDatabase(engine)],
      providers: [
        EagerClient,
        {
          provide: API_CLIENT,
          inject: [AppConfig],
          useFactory: (config: AppConfig) => ({ authorization: `Bearer ${config.apiKey}` }),
        },
        {
          provide: API_KEY_BY_SERVICE,
          inject: [KmsConfigService],
          useFactory: (service: KmsConfigService<AppConfig>) => service.get('apiKey'),
        },
      ],
    });
    try {
      expect(app.app.get(API_CLIENT)).toEqual({ authorization: `Bearer ${apiKey}` });
      expect(app.app.get(EagerClient).authorization).toBe(`Bearer ${apiKey}`);
      expect(app.app.get(API_KEY_BY_SERVICE)).toBe(apiKey);
      const dataSource = app.app.get<DataSource>(getDataSourceToken('second'));
      expect(dataSource.isInitialized).toBe(true);
      expect(await dataSource.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
      // Started by the config provider's factory; the modules' own hooks found it started.
      expect(loggedEvents('kms_initialized', since)).toHaveLength(1);
      expect(loggedEvents('config_loaded', since)).toHaveLength(1);
    } finally {
      await app.close();
    }
  });

  it('refuses a construction-time read without loadBeforeDependents, naming the option', async () => {
    const error = await Test.createTestingModule({
      imports: [
        KmsModule.forRoot({ masterKey, connection: db.connection }),
        SecretsModule.forRoot(),
        KmsConfigModule.forRoot({ schema: AppConfig }),
      ],
      providers: [EagerClient],
    })
      .setLogger(new CapturedLogger())
      .compile()
      .catch((caught: unknown) => leaks.error(caught));
    expect(error).toBeInstanceOf(ConfigNotLoadedError);
    expect((error as Error).message).toContain('AppConfig.apiKey was read before');
    expect((error as Error).message).toContain('{ loadBeforeDependents: true }');
  });

  it('loads before dependents on the application DataSource when KmsModule receives the instance', async () => {
    const connection = db.connection;
    const moduleRef = await Test.createTestingModule({
      imports: [
        TypeOrmModule.forRoot({
          ...connection,
          entities: [...KMS_ENTITIES, ...SECRETS_ENTITIES],
          migrations: [...KMS_MIGRATIONS, ...SECRETS_MIGRATIONS],
          migrationsRun: true,
        } as DataSourceOptions),
        // The instance, injected: Nest builds the DataSource before the KMS that opens it.
        KmsModule.forRootAsync({
          inject: [getDataSourceToken()],
          useFactory: (dataSource: DataSource) => ({ masterKey, dataSource }),
        }),
        SecretsModule.forRoot(),
        KmsConfigModule.forRoot({ schema: AppConfig, loadBeforeDependents: true }),
      ],
      providers: [EagerClient],
    })
      .setLogger(new CapturedLogger())
      .compile();
    const app = await initOrClose(moduleRef);
    try {
      expect(app.get(EagerClient).authorization).toBe(`Bearer ${apiKey}`);
    } finally {
      await app.close();
    }
  });
});

class ReportingSettings {
  @FromEnv('HOST') @IsString() host: string;
  @FromSecret('PASSWORD', { fallbackToEnv: true }) @IsString() password: string;
}

class RootSettings {
  @FromEnv('HOST') @IsString() host: string;
  @FromSecret('PASSWORD') @IsString() password: string;
}

@Injectable()
class ReportingClient {
  constructor(
    readonly settings: ReportingSettings,
    @InjectConfigService(ReportingSettings) readonly service: KmsConfigService<ReportingSettings>,
    @Inject(KmsConfigService) readonly root: KmsConfigService<RootSettings>,
  ) {}
}

describe.each(ENGINES)('several configuration schemas on %s', (engine) => {
  let db: TestDatabase;
  let masterKey: string;
  let values: Record<string, string>;
  let dir: string;

  isolateEnv();

  beforeEach(async () => {
    db = await createTestDatabase(engine);
    masterKey = newMasterKey();
    values = { PASSWORD: leaks.value('root-pw'), 'reporting/PASSWORD': leaks.value('report-pw') };
    await seedSecrets(db, masterKey, values);
    process.env.HOST = 'root.internal';
    process.env.REPORTING_HOST = 'reporting.internal';
    dir = mkdtempSync(join(tmpdir(), 'nest-kms-config-'));
  });

  afterEach(async () => {
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const feature = (style: 'forFeature' | 'forFeatureAsync') => {
    const options = {
      envPrefix: 'REPORTING_',
      secretPrefix: 'reporting/',
      loadBeforeDependents: true,
    };
    @Module({
      imports: [
        style === 'forFeature'
          ? KmsConfigModule.forFeature({ schema: ReportingSettings, ...options })
          : KmsConfigModule.forFeatureAsync({
              schema: ReportingSettings,
              useFactory: async () => options,
            }),
      ],
      providers: [ReportingClient],
      exports: [ReportingClient],
    })
    class ReportingModule {}
    return ReportingModule;
  };

  it.each(['forFeature', 'forFeatureAsync'] as const)(
    'reads each schema under its own prefixes, both injectable (%s)',
    async (style) => {
      const app = await startConfigApp(db, {
        masterKey,
        schema: RootSettings,
        before: [ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true })],
        imports: [feature(style)],
      });
      try {
        const client = app.app.get(ReportingClient);
        expect(client.settings.host).toBe('reporting.internal');
        expect(client.settings.password).toBe(values['reporting/PASSWORD']);
        expect(client.service.config).toBe(client.settings);
        expect(client.service.getStatus().fields.password).toMatchObject({
          source: 'secret',
          key: 'reporting/PASSWORD',
          env: 'REPORTING_PASSWORD',
        });
        expect(client.service.get('REPORTING_HOST')).toBe('reporting.internal');
        // Plain KmsConfigService is the forRoot registration's, unprefixed.
        expect(client.root).toBe(app.loader);
        expect(app.config.host).toBe('root.internal');
        expect(app.config.password).toBe(values.PASSWORD);

        // A rotation reaches the schema bound to that secret only.
        const changed = new Promise((resolve) => client.service.changes.subscribe(resolve));
        const rotated = leaks.value('report-pw-2');
        await app.secrets.rotateSecret('reporting/PASSWORD', rotated);
        expect(await changed).toMatchObject({ field: 'password', secret: 'reporting/PASSWORD' });
        expect(client.settings.password).toBe(rotated);
        expect(app.config.password).toBe(values.PASSWORD);
      } finally {
        await app.close();
      }
    },
  );

  it('falls back to the prefixed environment variable of a secret', async () => {
    process.env.REPORTING_PASSWORD = leaks.value('env-pw');
    await startSecretsApp(db, { masterKey }).then(async (seeder) => {
      await seeder.secrets.deleteSecret('reporting/PASSWORD', { actor: 'test' });
      await seeder.secrets.destroySecret('reporting/PASSWORD', { actor: 'test' });
      await seeder.close();
    });
    const app = await startConfigApp(db, {
      masterKey,
      schema: RootSettings,
      before: [ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true })],
      imports: [feature('forFeature')],
    });
    try {
      const client = app.app.get(ReportingClient);
      expect(client.settings.password).toBe(process.env.REPORTING_PASSWORD);
      expect(client.service.getStatus().fields.password).toMatchObject({
        source: 'env',
        key: 'REPORTING_PASSWORD',
      });
    } finally {
      await app.close();
    }
  });

  it('refuses prefixes that cannot be part of a name', () => {
    const start = (options: object) =>
      Test.createTestingModule({
        imports: [KmsConfigModule.forFeature({ schema: ReportingSettings, ...options })],
      })
        .setLogger(new CapturedLogger())
        .compile();
    return Promise.all([
      expect(start({ secretPrefix: '/reporting' })).rejects.toThrow(KmsConfigurationError),
      expect(start({ envPrefix: 'A=B' })).rejects.toThrow(KmsConfigurationError),
    ]);
  });
});
