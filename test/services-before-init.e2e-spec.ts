import { Test, type TestingModule } from '@nestjs/testing';
import { IsInt, IsString } from 'class-validator';
import { KmsModule, KmsNotInitializedError, KmsService, type NestKmsError } from '@nest-kms/kms';
import { SecretsModule, SecretsNotInitializedError, SecretsService } from '@nest-kms/secrets';
import {
  KmsConfigService,
  ConfigNotLoadedError,
  FromEnv,
  FromSecret,
  KmsConfigModule,
} from '@nest-kms/config';
import { CapturedLogger } from './support/captured-logger.js';
import { caught } from './support/caught.js';
import { ENGINES, createTestDatabase, type TestDatabase } from './support/databases.js';
import { newMasterKey } from './support/kms-fixture.js';

class BeforeInitConfig {
  @FromEnv('PORT') @IsInt() port = 3000;
  @FromSecret('API_KEY', { fallbackToEnv: true }) @IsString() apiKey = 'unset';
}

/** Lifecycle entry points: Nest calls them, and they are what makes the rest usable. */
const LIFECYCLE = [
  'initialize',
  'onModuleInit',
  'onModuleDestroy',
  'beforeApplicationShutdown',
  'onApplicationShutdown',
];

/**
 * Per service: the prototype's methods that are not public API (TypeScript's `private` is not
 * visible at run time), and the public ones meant for before start-up, with what they do then.
 * Every other method must refuse with the library's typed not-initialised error, so a method
 * added later is checked without anyone remembering to list it.
 */
interface ServiceUnderTest {
  readonly name: string;
  readonly get: (moduleRef: TestingModule) => object;
  readonly error: new () => NestKmsError;
  readonly code: string;
  readonly internal: readonly string[];
  readonly usableBefore: Readonly<Record<string, (service: never) => void>>;
}

const SERVICES: readonly ServiceUnderTest[] = [
  {
    name: 'KmsService',
    get: (moduleRef) => moduleRef.get(KmsService),
    error: KmsNotInitializedError,
    code: 'KMS_NOT_INITIALIZED',
    internal: [],
    usableBefore: {
      // Health checks and metrics read it at any time.
      getStatus: (kms: KmsService) =>
        expect(kms.getStatus()).toMatchObject({ initialized: false, activeKeyId: null }),
    },
  },
  {
    name: 'SecretsService',
    get: (moduleRef) => moduleRef.get(SecretsService),
    error: SecretsNotInitializedError,
    code: 'SECRETS_NOT_INITIALIZED',
    internal: ['start', 'ready'],
    usableBefore: {
      // SecretRef and @InjectSecret subscribe while the application is being built.
      watch: (secrets: SecretsService) =>
        expect(secrets.watch('API_KEY').subscribe).toBeTypeOf('function'),
      // Rotators are registered by providers, before start-up by design.
      registerRotator: (secrets: SecretsService) =>
        expect(secrets.registerRotator('API_KEY', { create: async () => 'next' })).toBeTypeOf(
          'function',
        ),
    },
  },
  {
    name: 'KmsConfigService',
    get: (moduleRef) => moduleRef.get(KmsConfigService),
    error: ConfigNotLoadedError as unknown as new () => NestKmsError,
    code: 'CONFIG_NOT_LOADED',
    internal: ['check'],
    usableBefore: {
      // Says which fields are loaded: none yet.
      getStatus: (loader: KmsConfigService) =>
        expect(loader.getStatus()).toMatchObject({ loaded: false, loadedAt: null }),
    },
  },
];

function methodsOf(service: object): string[] {
  const prototype = Object.getPrototypeOf(service) as object;
  return Object.getOwnPropertyNames(prototype).filter(
    (name) =>
      name !== 'constructor' &&
      typeof Object.getOwnPropertyDescriptor(prototype, name)?.value === 'function',
  );
}

describe.each(ENGINES)('services used before start-up on %s', (engine) => {
  let db: TestDatabase;
  let moduleRef: TestingModule;

  beforeAll(async () => {
    db = await createTestDatabase(engine);
    // Compiled, not initialised: what a constructor or provider factory of the app would see.
    moduleRef = await Test.createTestingModule({
      imports: [
        KmsModule.forRoot({ masterKey: newMasterKey(), connection: db.connection }),
        SecretsModule.forRoot(),
        KmsConfigModule.forRoot({ schema: BeforeInitConfig }),
      ],
    })
      .setLogger(new CapturedLogger())
      .compile();
  });

  afterAll(async () => {
    await moduleRef?.close();
    await db?.drop();
  });

  describe.each(SERVICES)('$name', (spec) => {
    it('refuses every public operation with its typed error that names the fix', async () => {
      const service = spec.get(moduleRef) as Record<string, (...args: unknown[]) => unknown>;
      const operations = methodsOf(service).filter(
        (name) =>
          !LIFECYCLE.includes(name) &&
          !spec.internal.includes(name) &&
          !(name in spec.usableBefore),
      );
      expect(operations.length).toBeGreaterThan(0);
      for (const name of operations) {
        const error = await caught(async () => service[name]());
        expect(error, `${spec.name}.${name}()`).toBeInstanceOf(spec.error);
        expect((error as NestKmsError).code, `${spec.name}.${name}()`).toBe(spec.code);
        expect(error.message, `${spec.name}.${name}()`).toContain('await app.init()');
      }
    });

    it('keeps what is meant for before start-up working', () => {
      const service = spec.get(moduleRef);
      for (const [name, check] of Object.entries(spec.usableBefore)) {
        expect(methodsOf(service)).toContain(name);
        check(service as never);
      }
    });
  });

  it('the configuration object refuses reads the same way', async () => {
    const config = moduleRef.get(BeforeInitConfig);
    const error = await caught(async () => config.port);
    expect(error).toBeInstanceOf(ConfigNotLoadedError);
    expect(error.message).toContain('BeforeInitConfig.port');
  });
});
