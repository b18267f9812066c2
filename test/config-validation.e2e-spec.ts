import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { IsIn, IsInt, IsOptional, IsString, Matches, Min, MinLength } from 'class-validator';
import { KmsConfigurationError } from '@nest-kms/kms';
import {
  KmsConfigService,
  ConfigNotLoadedError,
  ConfigValidationError,
  FromEnv,
  FromSecret,
  KmsConfigModule,
  Sensitive,
  type ConfigProblem,
} from '@nest-kms/config';
import { CapturedLogger } from './support/captured-logger.js';
import { DAY_MS } from './support/clock.js';
import {
  LeakWatch,
  initOrClose,
  isolateEnv,
  loggedEvents,
  seedSecrets,
  startConfigApp,
  type ConfigApp,
} from './support/config-fixture.js';
import { createTestDatabase, type TestDatabase } from './support/databases.js';
import { newMasterKey } from './support/kms-fixture.js';
import { startSecretsApp } from './support/secrets-fixture.js';

const leaks = new LeakWatch();

class AppConfig {
  @FromEnv('PORT') @IsInt() @Min(1) port = 3000;
  @FromSecret('JWT_SECRET') @IsString() @MinLength(32) jwtSecret: string;
  @FromSecret('API_KEY') @IsString() apiKey: string;
  @FromSecret('DATABASE_URL', { fallbackToEnv: true }) @IsString() databaseUrl: string;
  @FromEnv('MODE')
  @IsIn(['live', 'test'], { message: 'mode must be live or test, not $value' })
  mode = 'test';
  @FromSecret('WEBHOOK_TOKEN')
  @Matches(/^whk_/, { message: 'expected whk_ prefix, got $value' })
  webhookToken: string;
  @FromEnv('REPLICAS') @IsInt() replicas = 1;
  @FromEnv('REGION') @IsOptional() @IsString() region?: string;
}

/** A consumer that must never see a partly loaded configuration. */
@Injectable()
class Consumer {
  static seen: unknown[] = [];
  constructor(private readonly config: AppConfig) {}
  onModuleInit(): void {
    Consumer.seen.push(this.config.port);
  }
}

@Module({ providers: [Consumer] })
class ConsumerModule {}

describe('configuration refused at start-up', () => {
  let db: TestDatabase;
  let masterKey: string;
  const apps: ConfigApp<object>[] = [];

  isolateEnv();

  beforeEach(async () => {
    db = await createTestDatabase('sqlite');
    masterKey = newMasterKey();
    Consumer.seen = [];
  });

  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    await db.drop();
  });

  afterAll(() => leaks.assertNoLeaks());

  async function refused<T extends object>(schema: new () => T, extra = {}): Promise<unknown> {
    try {
      apps.push(await startConfigApp(db, { masterKey, schema, ...extra }));
    } catch (error) {
      return leaks.error(error);
    }
    throw new Error('start-up was not refused');
  }

  const byField = (problems: readonly ConfigProblem[]) =>
    Object.fromEntries(problems.map((problem) => [problem.field, problem]));

  it('lists every problem of every field in one error, values masked, and starts nothing', async () => {
    const shortJwt = leaks.value('short', 4);
    const badToken = leaks.value('tok');
    const urlInEnv = leaks.value('url');
    await seedSecrets(db, masterKey, { JWT_SECRET: shortJwt, WEBHOOK_TOKEN: badToken });
    process.env.PORT = 'eighty';
    process.env.MODE = 'staging';
    process.env.REPLICAS = '0.5';
    process.env.API_KEY = leaks.value('env-api-key'); // no fallback: must not be read
    process.env.DATABASE_URL = urlInEnv;

    const error = await refused(AppConfig, { imports: [ConsumerModule] });

    expect(error).toBeInstanceOf(ConfigValidationError);
    const { code, schema, problems, message } = error as ConfigValidationError;
    expect({ code, schema }).toEqual({ code: 'CONFIG_INVALID', schema: 'AppConfig' });
    const problem = byField(problems);
    expect(Object.keys(problem).sort()).toEqual(
      ['apiKey', 'jwtSecret', 'mode', 'port', 'replicas', 'webhookToken'].sort(),
    );
    expect(problem.port).toMatchObject({ kind: 'conversion', source: 'env', key: 'PORT' });
    expect(problem.jwtSecret).toMatchObject({ kind: 'validation', source: 'secret' });
    expect(Object.keys(problem.jwtSecret.constraints)).toEqual(['minLength']);
    expect(problem.apiKey).toMatchObject({ kind: 'missing', source: null });
    expect(problem.apiKey.constraints.missing).toContain('no secret API_KEY');
    expect(problem.mode.constraints.isIn).toBe('mode must be live or test, not ****');
    expect(problem.webhookToken.constraints.matches).toBe('expected whk_ prefix, got ****');
    expect(problem.replicas).toMatchObject({ kind: 'validation', key: 'REPLICAS' });
    expect(message).toContain('6 problems');
    expect(message).toContain('jwtSecret (secret JWT_SECRET, value ****): minLength:');
    for (const value of ['eighty', 'staging', '0.5', shortJwt, badToken]) {
      expect(message).not.toContain(value);
      expect(JSON.stringify(problems)).not.toContain(value);
    }

    expect(Consumer.seen).toEqual([]);
    const [logged] = loggedEvents('config_invalid').slice(-1);
    expect(logged).toMatchObject({ schema: 'AppConfig' });
    expect((logged.problems as unknown[]).length).toBe(6);
  });

  it('masks a sensitive value even in another field’s message', async () => {
    const apiKey = leaks.value('api-key');
    await seedSecrets(db, masterKey, { API_KEY: apiKey });
    process.env.MODE = 'staging';
    class Nosy {
      @FromSecret('API_KEY') @IsString() apiKey: string;
      @FromEnv('MODE')
      @IsIn(['live'], {
        message: (args) => `mode refused while apiKey=${(args.object as Nosy).apiKey}`,
      })
      mode: string;
    }
    const error = (await refused(Nosy)) as ConfigValidationError;
    expect(error.problems[0].constraints.isIn).toBe('mode refused while apiKey=****');
    expect(error.message).not.toContain(apiKey);
  });

  it('refuses an expired or deleted secret instead of falling back to the environment', async () => {
    const setup = await startSecretsApp(db, { masterKey });
    await setup.secrets.setSecret('DATABASE_URL', leaks.value('old-url'), { ttlDays: 1 });
    await setup.secrets.setSecret('API_KEY', leaks.value('api'));
    await setup.secrets.deleteSecret('API_KEY');
    await setup.close();
    process.env.DATABASE_URL = leaks.value('env-url');

    class Bound {
      @FromSecret('DATABASE_URL', { fallbackToEnv: true }) databaseUrl: string;
      @FromSecret('API_KEY', { fallbackToEnv: true }) apiKey: string;
    }
    process.env.API_KEY = leaks.value('env-api');
    const error = (await refused(Bound, {
      secrets: { clock: () => Date.now() + 2 * DAY_MS },
    })) as ConfigValidationError;

    expect(error).toBeInstanceOf(ConfigValidationError);
    const problem = byField(error.problems);
    expect(problem.databaseUrl).toMatchObject({ kind: 'unavailable', code: 'SECRET_EXPIRED' });
    expect(problem.apiKey).toMatchObject({ kind: 'unavailable', code: 'SECRET_DELETED' });
  });

  it('reports every broken declaration, and an optional field may stay unset', async () => {
    class Broken {
      @FromEnv('') empty: string;
      @FromSecret('has spaces') spaced: string;
      @FromEnv('A') @FromSecret('B') both: string;
      @FromEnv('REGION') @IsOptional() @IsString() region?: string;
    }
    const error = (await refused(Broken)) as ConfigValidationError;
    expect(error.problems.map((problem) => [problem.field, problem.kind])).toEqual([
      ['empty', 'declaration'],
      ['spaced', 'declaration'],
      ['both', 'declaration'],
    ]);

    class Optional {
      @FromEnv('REGION') @IsOptional() @IsString() region?: string;
      @FromSecret('MAYBE') @IsOptional() maybe?: string;
    }
    const app = await startConfigApp(db, { masterKey, schema: Optional });
    apps.push(app);
    expect(app.config.region).toBeUndefined();
    expect(app.loader.getStatus().fields.maybe).toMatchObject({
      source: 'unset',
      value: undefined,
    });
  });

  it('resolves secrets when KmsConfigModule is listed before SecretsModule', async () => {
    class Small {
      @FromSecret('JWT_SECRET') jwtSecret: string;
    }
    const jwt = leaks.value('order', 40);
    await seedSecrets(db, masterKey, { JWT_SECRET: jwt });
    const app = await startConfigApp(db, { masterKey, schema: Small, configFirst: true });
    apps.push(app);
    expect(app.config.jwtSecret).toBe(jwt);
  });

  it('refuses a read during instantiation with a typed error', async () => {
    class Small {
      @FromEnv('PORT') port = 3000;
    }
    const moduleRef = await Test.createTestingModule({
      imports: [KmsConfigModule.forRoot({ schema: Small })],
      providers: [
        { provide: 'EARLY', useFactory: (config: Small) => config.port, inject: [Small] },
      ],
    })
      .setLogger(new CapturedLogger())
      .compile()
      .catch((error: unknown) => error);
    expect(moduleRef).toBeInstanceOf(ConfigNotLoadedError);
    expect((moduleRef as Error).message).toContain(
      'Small.port was read before the configuration was loaded',
    );
  });

  it('reports secret fields when the app has no SecretsModule', async () => {
    class NeedsSecrets {
      @FromSecret('JWT_SECRET') jwtSecret: string;
      @FromEnv('PORT') @Sensitive() port = 1;
    }
    const moduleRef = await Test.createTestingModule({
      imports: [KmsConfigModule.forRoot({ schema: NeedsSecrets })],
    })
      .setLogger(new CapturedLogger())
      .compile();
    const error = await initOrClose(moduleRef).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigValidationError);
    expect((error as ConfigValidationError).problems[0].constraints.secretsModule).toContain(
      'add SecretsModule.forRoot() to the application',
    );
  });

  it('needs a schema', () => {
    expect(() =>
      KmsConfigModule.forRoot({ schema: undefined as unknown as new () => object }),
    ).toThrow(KmsConfigurationError);
    expect(KmsConfigService).toBeDefined();
  });
});
