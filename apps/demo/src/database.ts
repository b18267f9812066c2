import type { TypeOrmModuleOptions } from '@nestjs/typeorm';
import { join } from 'node:path';
import {
  createPrivateSqliteFile,
  KMS_ENTITIES,
  KMS_MIGRATIONS,
  withDatabaseTimeouts,
} from '@nest-kms/kms';
import { SECRETS_ENTITIES, SECRETS_MIGRATIONS } from '@nest-kms/secrets';
import { THREAT_DETECTION_ENTITIES, THREAT_DETECTION_MIGRATIONS } from '@nest-kms/threat-detection';
import { dataDirectory, type DemoEnvironment } from './demo-environment.js';
import { CreateDemoNotes1767225600000 } from './notes/create-demo-notes.migration.js';
import { Note } from './notes/note.entity.js';
import { databaseTimeouts } from './operations/database-timeouts.js';

/**
 * The application's one DataSource: Postgres at DATABASE_URL, else SQLite (SQLITE_PATH, default
 * ./data/demo.sqlite). nest-kms keeps its keyring and secrets here too (KmsModule's
 * `dataSource: 'default'`), and the notes' encrypted column must live in the DataSource the KMS
 * uses. Tables come from the shipped migrations, never from `synchronize`. Time limits (see
 * databaseTimeouts) make a database that is down answer 503 DATABASE_UNAVAILABLE, not hang.
 */
export async function demoDataSourceOptions(env: DemoEnvironment): Promise<TypeOrmModuleOptions> {
  const tables = {
    entities: [...KMS_ENTITIES, ...SECRETS_ENTITIES, ...THREAT_DETECTION_ENTITIES, Note],
    migrations: [
      ...KMS_MIGRATIONS,
      ...SECRETS_MIGRATIONS,
      ...THREAT_DETECTION_MIGRATIONS,
      CreateDemoNotes1767225600000,
    ],
    // One process migrates at a time only by luck: start a first replica alone, or migrate in CI.
    migrationsRun: true,
    migrationsTransactionMode: 'all' as const,
    retryAttempts: 2,
    retryDelay: 1000,
  };
  const timeouts = databaseTimeouts(env);
  if (env.DATABASE_URL) {
    return withDatabaseTimeouts({ type: 'postgres', url: env.DATABASE_URL, ...tables }, timeouts);
  }
  const database = env.SQLITE_PATH || join(dataDirectory(env), 'demo.sqlite');
  // It holds the wrapped keys and every envelope: the owner's alone, like the key files.
  createPrivateSqliteFile(database);
  return withDatabaseTimeouts({ type: 'better-sqlite3', database, ...tables }, timeouts);
}
