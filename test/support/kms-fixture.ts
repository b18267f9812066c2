import type { INestApplicationContext, ModuleMetadata } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { randomBytes } from 'node:crypto';
import { KmsModule, KmsService, type KmsModuleOptions } from '@nest-kms/kms';
import { CapturedLogger } from './captured-logger.js';
import { createTestDatabase, type Engine, type TestDatabase } from './databases.js';
import { asyncRegistration, type Registration } from './registration.js';

/** A fresh random master key, base64. */
export const newMasterKey = (): string => randomBytes(32).toString('base64');

export interface KmsApp {
  readonly app: INestApplicationContext;
  readonly kms: KmsService;
  readonly logger: CapturedLogger;
  close(): Promise<void>;
}

/** A started Nest application context whose log lines a CapturedLogger records. */
export async function startTestApp(
  metadata: Pick<ModuleMetadata, 'imports' | 'providers'>,
): Promise<{ app: INestApplicationContext; logger: CapturedLogger }> {
  const logger = new CapturedLogger();
  const moduleRef = await Test.createTestingModule(metadata).setLogger(logger).compile();
  return { app: await moduleRef.init(), logger };
}

/** Builds real Nest application contexts around KmsModule on a test database. */
export const KmsFixture = {
  /** `KmsModule.forRoot(options)` on `db`. */
  start(
    db: TestDatabase,
    masterKey: string,
    extra: Partial<KmsModuleOptions> = {},
  ): Promise<KmsApp> {
    return KmsFixture.register('forRoot', { masterKey, connection: db.connection, ...extra });
  },

  /** The same options through any of the four registration styles; all must behave alike. */
  async register(style: Registration, options: KmsModuleOptions): Promise<KmsApp> {
    const { app, logger } = await startTestApp({ imports: [importFor(style, options)] });
    return {
      app,
      kms: app.get(KmsService),
      logger,
      close: () => app.close(),
    };
  },
};

function importFor(style: Registration, options: KmsModuleOptions) {
  return style === 'forRoot'
    ? KmsModule.forRoot(options)
    : KmsModule.forRootAsync(asyncRegistration(style, 'createKmsOptions', options));
}

/** A test's own database on `engine`, and the apps it starts there: all closed after the test. */
export interface KmsAppsPerTest {
  /** The current test's database. */
  db(): TestDatabase;
  /** `KmsFixture.start` on the current test's database, closed after the test. */
  start(masterKey: string, extra?: Partial<KmsModuleOptions>): Promise<KmsApp>;
}

/** Registers the hooks that give each test of the enclosing block a fresh database. */
export function kmsAppsPerTest(engine: Engine): KmsAppsPerTest {
  let db: TestDatabase | undefined;
  const apps: KmsApp[] = [];
  beforeEach(async () => {
    db = await createTestDatabase(engine);
  });
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    await db?.drop();
  });
  return {
    db: () => db!,
    start: async (masterKey, extra) => {
      const app = await KmsFixture.start(db!, masterKey, extra);
      apps.push(app);
      return app;
    },
  };
}

/**
 * Options of a test that runs the lifecycle itself on its own `clock`, with no scheduled check,
 * no automatic re-encryption, and one attempt per master-key call (a failure shows at once).
 */
export function lifecycleByHand(clock: () => number): Partial<KmsModuleOptions> {
  return {
    clock,
    rotation: { checkIntervalMs: 0 },
    reencryption: { auto: false },
    masterKeyCalls: { attempts: 1, backoffMs: 0 },
  };
}
