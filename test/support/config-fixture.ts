import type { INestApplicationContext, ModuleMetadata, Type } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { randomBytes } from 'node:crypto';
import { KmsModule, KmsService } from '@nest-kms/kms';
import { SecretsModule, SecretsService, type SecretsModuleOptions } from '@nest-kms/secrets';
import { KmsConfigService, KmsConfigModule, type KmsConfigModuleOptions } from '@nest-kms/config';
import { CapturedLogger } from './captured-logger.js';
import type { TestDatabase } from './databases.js';
import { asyncRegistration, type Registration } from './registration.js';
import { startSecretsApp } from './secrets-fixture.js';

export type ConfigRegistration = Registration;

export interface ConfigAppOptions<T extends object> {
  masterKey: string;
  schema: Type<T>;
  config?: KmsConfigModuleOptions;
  registration?: ConfigRegistration;
  secrets?: SecretsModuleOptions;
  /** Modules listed first (e.g. the application's own ConfigModule.forRoot()). */
  before?: ModuleMetadata['imports'];
  /** Feature modules of the app under test, listed after the nest-kms modules. */
  imports?: ModuleMetadata['imports'];
  providers?: ModuleMetadata['providers'];
  /** List KmsConfigModule before KmsModule and SecretsModule. */
  configFirst?: boolean;
}

export interface ConfigApp<T extends object> {
  readonly app: INestApplicationContext;
  readonly config: T;
  readonly loader: KmsConfigService<T>;
  readonly secrets: SecretsService;
  readonly kms: KmsService;
  close(): Promise<void>;
}

/** A real application: KmsModule, SecretsModule and KmsConfigModule on a test database. */
export async function startConfigApp<T extends object>(
  db: TestDatabase,
  options: ConfigAppOptions<T>,
): Promise<ConfigApp<T>> {
  const nestKms = [
    KmsModule.forRoot({ masterKey: options.masterKey, connection: db.connection }),
    SecretsModule.forRoot(options.secrets ?? {}),
  ];
  const config = configModule(options.registration ?? 'forRoot', options.schema, options.config);
  const moduleRef = await Test.createTestingModule({
    imports: [
      ...(options.before ?? []),
      ...(options.configFirst ? [config, ...nestKms] : [...nestKms, config]),
      ...(options.imports ?? []),
    ],
    providers: options.providers ?? [],
  })
    .setLogger(new CapturedLogger())
    .compile();
  const app = await initOrClose(moduleRef);
  return {
    app,
    config: app.get(options.schema),
    loader: app.get<KmsConfigService<T>>(KmsConfigService),
    secrets: app.get(SecretsService),
    kms: app.get(KmsService),
    close: () => app.close(),
  };
}

/** Starts the module; when start-up is refused, releases what it opened and rethrows. */
export async function initOrClose(moduleRef: TestingModule): Promise<INestApplicationContext> {
  try {
    return await moduleRef.init();
  } catch (error) {
    await moduleRef.close();
    throw error;
  }
}

/** Stores secrets the way an operator would before the app starts: another app on the same database. */
export async function seedSecrets(
  db: TestDatabase,
  masterKey: string,
  values: Record<string, string>,
  secrets: SecretsModuleOptions = {},
): Promise<void> {
  const seeder = await startSecretsApp(db, { masterKey, secrets });
  try {
    for (const [name, value] of Object.entries(values)) {
      await seeder.secrets.setSecret(name, value, { actor: 'test-seed' });
    }
  } finally {
    await seeder.close();
  }
}

/** KmsConfigModule registered in one of its four styles; all must behave alike. */
export function configModule<T extends object>(
  style: ConfigRegistration,
  schema: Type<T>,
  options: KmsConfigModuleOptions = {},
) {
  return style === 'forRoot'
    ? KmsConfigModule.forRoot({ schema, ...options })
    : KmsConfigModule.forRootAsync({
        schema,
        ...asyncRegistration(style, 'createConfigOptions', options),
      });
}

/**
 * Saves process.env before each test and puts it back after (ConfigModule.forRoot writes .env
 * values into it, tests set variables): no test sees another's environment.
 */
export function isolateEnv(): void {
  let saved: Record<string, string | undefined> = {};
  beforeEach(() => {
    saved = { ...process.env };
  });
  afterEach(() => {
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    Object.assign(process.env, saved);
  });
}

/**
 * Every secret value a suite creates, and every error text it saw: `assertNoLeaks()` scans all
 * log output of the test file (Nest's logger is process-global) and those texts for any value.
 */
export class LeakWatch {
  private readonly values = new Set<string>();
  private readonly texts: string[] = [];

  /** A fresh random value, remembered. */
  value(label: string, bytes = 24): string {
    const value = `${label}-${randomBytes(bytes).toString('hex')}`;
    this.values.add(value);
    return value;
  }

  /** Records an error's message, string form and JSON for the scan; returns the error. */
  error<E>(error: E): E {
    if (error instanceof Error) {
      this.texts.push(error.message, String(error), error.stack ?? '', JSON.stringify(error));
    }
    return error;
  }

  text(text: string): void {
    this.texts.push(text);
  }

  assertNoLeaks(): void {
    const haystack = [CapturedLogger.allText(), ...this.texts].join('\n');
    expect(haystack.length).toBeGreaterThan(0);
    for (const value of this.values) expect(haystack).not.toContain(value);
  }
}

export { loggedEvents } from './captured-logger.js';
