import { DataSource, type DataSourceOptions } from 'typeorm';
import { afterAll } from 'vitest';
import { KMS_MIGRATIONS } from '@nest-kms/kms';
import { SECRETS_MIGRATIONS } from '@nest-kms/secrets';
import {
  cloneTestDatabase,
  createTestDatabase,
  type Engine,
  type TestDatabase,
} from './databases.js';

/*
 * Test databases that already hold the KMS and secrets tables, but no keyring: for suites whose
 * tests each want an empty keyring and are not about the first start's migrations. On Postgres
 * each is a clone of one template per spec file, migrated once, which spares every test the
 * migrations an application runs at its first start (a part of a new database's Postgres CPU);
 * SQLite migrates a new file cheaply at that start, so there it is a plain new database.
 */

/** The spec file's template (vitest loads this module once per file). */
let template: Promise<TestDatabase> | undefined;

afterAll(async () => {
  // Dropped while databases.ts's own afterAll (registered first, so run after this one) waits.
  if (template !== undefined) await (await template).drop();
});

/** A new database with every migration of the KMS and secrets libraries run, and no rows. */
export async function createMigratedTestDatabase(engine: Engine): Promise<TestDatabase> {
  if (engine === 'sqlite') return createTestDatabase(engine);
  template ??= migratedTemplate();
  return cloneTestDatabase(await template);
}

async function migratedTemplate(): Promise<TestDatabase> {
  const db = await createTestDatabase('postgres');
  await migrateDatabase(db);
  return db;
}

/**
 * Runs the libraries' migrations on `db`, in the order KmsModule runs them with the secrets
 * extension, and closes the connection (a template takes none while it is copied).
 */
export async function migrateDatabase(db: TestDatabase): Promise<void> {
  const dataSource = new DataSource({
    ...db.connection,
    migrations: [...KMS_MIGRATIONS, ...SECRETS_MIGRATIONS],
  } as DataSourceOptions);
  await dataSource.initialize();
  try {
    await dataSource.runMigrations({ transaction: 'all' });
  } finally {
    await dataSource.destroy();
  }
}
