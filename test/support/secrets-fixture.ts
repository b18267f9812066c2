import { type INestApplicationContext, type ModuleMetadata } from '@nestjs/common';
import { KmsModule, KmsService, type KmsModuleOptions } from '@nest-kms/kms';
import { SecretsModule, SecretsService, type SecretsModuleOptions } from '@nest-kms/secrets';
import type { CapturedLogger } from './captured-logger.js';
import type { TestDatabase } from './databases.js';
import { startTestApp } from './kms-fixture.js';
import type { SqlRecorder } from './sql-recorder.js';

export interface SecretsApp {
  readonly app: INestApplicationContext;
  readonly secrets: SecretsService;
  readonly kms: KmsService;
  readonly logger: CapturedLogger;
  close(): Promise<void>;
}

export interface SecretsAppOptions {
  masterKey: string;
  /** More KmsModule options (the connection is the test database's). */
  kms?: Partial<KmsModuleOptions>;
  secrets?: SecretsModuleOptions;
  /** Feature modules and providers of the app under test. */
  imports?: ModuleMetadata['imports'];
  providers?: ModuleMetadata['providers'];
  sql?: SqlRecorder;
}

/** A real Nest application context with KmsModule and SecretsModule on a test database. */
export async function startSecretsApp(
  db: TestDatabase,
  options: SecretsAppOptions,
): Promise<SecretsApp> {
  const connection = options.sql ? options.sql.attach(db.connection) : db.connection;
  const { app, logger } = await startTestApp({
    imports: [
      KmsModule.forRoot({ masterKey: options.masterKey, connection, ...options.kms }),
      SecretsModule.forRoot(options.secrets ?? {}),
      ...(options.imports ?? []),
    ],
    providers: options.providers ?? [],
  });
  return {
    app,
    secrets: app.get(SecretsService),
    kms: app.get(KmsService),
    logger,
    close: () => app.close(),
  };
}
