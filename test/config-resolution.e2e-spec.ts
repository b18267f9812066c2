import { Injectable, Module, type OnModuleInit } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { Test } from '@nestjs/testing';
import { Type } from 'class-transformer';
import {
  IsArray,
  IsBoolean,
  IsDate,
  IsInt,
  IsString,
  IsUrl,
  Max,
  Min,
  MinLength,
  ValidateNested,
} from 'class-validator';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  KmsConfigService,
  FromEnv,
  FromSecret,
  MASK,
  KmsConfigModule,
  UnknownConfigKeyError,
} from '@nest-kms/config';
import { CapturedLogger } from './support/captured-logger.js';
import {
  LeakWatch,
  isolateEnv,
  seedSecrets,
  startConfigApp,
  type ConfigApp,
  type ConfigRegistration,
} from './support/config-fixture.js';
import { ENGINES, createTestDatabase, type TestDatabase } from './support/databases.js';
import { newMasterKey } from './support/kms-fixture.js';

const leaks = new LeakWatch();

class Smtp {
  @IsString() host: string;
  @IsInt() @Min(1) port: number;
}

class AppConfig {
  @FromEnv('PORT') @IsInt() @Min(1) @Max(65535) port = 3000;
  @FromSecret('JWT_SECRET') @IsString() @MinLength(32) jwtSecret: string;
  @FromSecret('DATABASE_URL', { fallbackToEnv: true })
  @IsUrl({ protocols: ['postgres'], require_tld: false })
  databaseUrl: string;
  @FromEnv('DEBUG') @IsBoolean() debug = false;
  @FromEnv('LAUNCH_AT') @IsDate() launchAt = new Date('2026-01-01T00:00:00Z');
  @FromEnv('ALLOWED_ORIGINS') @IsArray() @IsString({ each: true }) origins: string[] = [];
  @FromSecret('SMTP', { fallbackToEnv: true }) @ValidateNested() @Type(() => Smtp) smtp: Smtp;
}

/** A provider as users write them: it reads the configuration once the app has started. */
@Injectable()
class Mailer implements OnModuleInit {
  host: string | undefined;
  constructor(readonly config: AppConfig) {}
  onModuleInit(): void {
    this.host = this.config.smtp.host;
  }
}

@Module({ providers: [Mailer], exports: [Mailer] })
class MailModule {}

describe.each(ENGINES)('configuration resolution on %s', (engine) => {
  let db: TestDatabase;
  let masterKey: string;
  const apps: ConfigApp<AppConfig>[] = [];
  const jwt = leaks.value('jwt');
  const storedUrl = `postgres://app:${leaks.value('pw', 8)}@db.internal:5432/app`;
  const envUrl = `postgres://app:${leaks.value('envpw', 8)}@legacy.internal:5432/app`;
  const smtpJson = JSON.stringify({ host: 'smtp.internal', port: 2525 });

  isolateEnv();

  beforeEach(async () => {
    db = await createTestDatabase(engine);
    masterKey = newMasterKey();
  });

  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    await db.drop();
  });

  afterAll(() => leaks.assertNoLeaks());

  const start = async (registration: ConfigRegistration = 'forRoot') => {
    const app = await startConfigApp(db, {
      masterKey,
      schema: AppConfig,
      registration,
      imports: [MailModule],
    });
    apps.push(app);
    return app;
  };

  it('serves each field from its source: store, environment, class default', async () => {
    await seedSecrets(db, masterKey, { JWT_SECRET: jwt, SMTP: smtpJson });
    process.env.PORT = '8080';
    process.env.DATABASE_URL = envUrl;
    process.env.DEBUG = 'yes';
    process.env.ALLOWED_ORIGINS = '["https://a.example","https://b.example"]';
    const { config, loader, app } = await start();

    expect(config).toBeInstanceOf(AppConfig);
    expect(config.port).toBe(8080);
    expect(config.jwtSecret).toBe(jwt);
    expect(config.databaseUrl).toBe(envUrl);
    expect(config.debug).toBe(true);
    expect(config.launchAt).toEqual(new Date('2026-01-01T00:00:00Z'));
    expect(config.origins).toEqual(['https://a.example', 'https://b.example']);
    expect(config.smtp).toBeInstanceOf(Smtp);
    expect(config.smtp).toEqual({ host: 'smtp.internal', port: 2525 });
    expect(app.get(Mailer).host).toBe('smtp.internal');
    expect(app.get(Mailer).config).toBe(config);

    const { fields, loaded, schema } = loader.getStatus();
    expect({ loaded, schema }).toEqual({ loaded: true, schema: 'AppConfig' });
    expect(fields.port).toMatchObject({
      source: 'env',
      key: 'PORT',
      value: 8080,
      sensitive: false,
    });
    expect(fields.jwtSecret).toMatchObject({ source: 'secret', key: 'JWT_SECRET', value: MASK });
    expect(fields.databaseUrl).toMatchObject({ source: 'env', key: 'DATABASE_URL', value: MASK });
    expect(fields.launchAt).toMatchObject({ source: 'default', key: null });
    expect(fields.smtp).toMatchObject({ source: 'secret', key: 'SMTP', sensitive: true });
    leaks.text(JSON.stringify(loader.getStatus()));
  });

  it('prefers the store to the environment, and the environment to the default', async () => {
    await seedSecrets(db, masterKey, { JWT_SECRET: jwt, DATABASE_URL: storedUrl });
    process.env.DATABASE_URL = envUrl;
    process.env.SMTP = smtpJson;
    const { config, loader } = await start();

    expect(config.databaseUrl).toBe(storedUrl);
    expect(config.smtp.port).toBe(2525);
    expect(config.port).toBe(3000);
    const { fields } = loader.getStatus();
    expect([fields.databaseUrl.source, fields.smtp.source, fields.port.source]).toEqual([
      'secret',
      'env',
      'default',
    ]);
  });

  it('answers get() by field name and by secret or variable name', async () => {
    await seedSecrets(db, masterKey, { JWT_SECRET: jwt, SMTP: smtpJson });
    process.env.DATABASE_URL = envUrl;
    process.env.PORT = '9000';
    const { loader } = await start();

    expect(loader.get('JWT_SECRET')).toBe(jwt);
    expect(loader.get('jwtSecret')).toBe(jwt);
    expect(loader.get('PORT')).toBe(9000);
    expect(loader.get('port')).toBe(9000);
    expect(loader.get('DATABASE_URL')).toBe(envUrl);
    expect(() => loader.get('NOT_A_KEY')).toThrow(UnknownConfigKeyError);
  });

  it.each<ConfigRegistration>(['useFactory', 'useClass', 'useExisting'])(
    'gives the same configuration through forRootAsync (%s) as through forRoot',
    async (registration) => {
      await seedSecrets(db, masterKey, { JWT_SECRET: jwt, SMTP: smtpJson });
      process.env.DATABASE_URL = envUrl;
      const viaForRoot = await start('forRoot');
      const expected = viaForRoot.loader.getStatus().fields;
      await viaForRoot.close();
      apps.splice(apps.indexOf(viaForRoot), 1);

      const viaAsync = await start(registration);
      const fields = viaAsync.loader.getStatus().fields;
      for (const field of Object.keys(expected)) {
        expect({ ...fields[field], updatedAt: null }).toEqual({
          ...expected[field],
          updatedAt: null,
        });
      }
      expect(viaAsync.config.jwtSecret).toBe(jwt);
    },
  );
});

describe('beside the application’s own ConfigModule', () => {
  isolateEnv();
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nest-kms-config-env-'));
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  class EnvOnlyConfig {
    @FromEnv('APP_PORT') @IsInt() port = 3000;
    @FromEnv('APP_NAME') @IsString() name: string;
    @FromEnv('APP_DEBUG') @IsBoolean() debug = false;
  }

  const start = async (imports: Parameters<typeof Test.createTestingModule>[0]['imports']) => {
    const moduleRef = await Test.createTestingModule({ imports })
      .setLogger(new CapturedLogger())
      .compile();
    return moduleRef.init();
  };

  it('reads .env files and load() factories through ConfigService, without secrets modules', async () => {
    const envFile = join(dir, '.env');
    writeFileSync(envFile, 'APP_PORT=7070\nAPP_NAME=from-dotenv\n');
    const app = await start([
      ConfigModule.forRoot({ envFilePath: envFile, load: [() => ({ APP_DEBUG: true })] }),
      KmsConfigModule.forRoot({ schema: EnvOnlyConfig }),
    ]);
    try {
      const config = app.get(EnvOnlyConfig);
      expect(config.port).toBe(7070);
      expect(config.name).toBe('from-dotenv');
      // Only ConfigService knows this one: load() factories never reach process.env.
      expect(process.env.APP_DEBUG).toBeUndefined();
      expect(config.debug).toBe(true);
      expect(app.get(KmsConfigService).getStatus().fields.debug.source).toBe('env');
    } finally {
      await app.close();
    }
  });

  it('follows ConfigModule’s skipProcessEnv', async () => {
    process.env.APP_NAME = 'from-process';
    process.env.APP_PORT = '1234';
    const app = await start([
      ConfigModule.forRoot({
        ignoreEnvFile: true,
        skipProcessEnv: true,
        load: [() => ({ APP_NAME: 'from-load' })],
      }),
      KmsConfigModule.forRoot({ schema: EnvOnlyConfig }),
    ]);
    try {
      const config = app.get(EnvOnlyConfig);
      expect(config.name).toBe('from-load');
      expect(config.port).toBe(3000);
    } finally {
      await app.close();
    }
  });
});
