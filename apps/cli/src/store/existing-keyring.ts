import { existsSync } from 'node:fs';
import { CliError } from '../cli-errors.js';
import type { DatabaseTarget } from './database-target.js';
import { KeyringNotFoundError } from './keyring-not-found.error.js';

const KEYRING_TABLE = 'kms_keyring';

/**
 * Refuses (KeyringNotFoundError) a database without a nest-kms keyring, looking without
 * writing: a missing SQLite file is not created, and neither tables nor a data key are.
 * Opening the libraries on such a database would create all three.
 */
export async function requireExistingKeyring(database: DatabaseTarget): Promise<void> {
  const { connection } = database;
  if (connection.type === 'postgres') {
    if (!(await postgresHasKeyring(String(connection.url)))) {
      throw new KeyringNotFoundError(database, 'the database has no keyring table or row');
    }
    return;
  }
  const file = database.sqliteFile as string;
  if (!existsSync(file)) throw new KeyringNotFoundError(database, 'the file does not exist');
  if (!(await sqliteHasKeyring(file))) {
    throw new KeyringNotFoundError(database, 'the file has no keyring table or row');
  }
}

async function sqliteHasKeyring(file: string): Promise<boolean> {
  const { default: Database } =
    await importDriver<typeof import('better-sqlite3')>('better-sqlite3');
  const connection = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const table = connection
      .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?")
      .get(KEYRING_TABLE);
    return (
      table !== undefined &&
      connection.prepare(`SELECT 1 FROM ${KEYRING_TABLE}`).get() !== undefined
    );
  } finally {
    connection.close();
  }
}

async function postgresHasKeyring(url: string): Promise<boolean> {
  const { default: pg } = await importDriver<typeof import('pg')>('pg');
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    const found = await client.query<{ present: boolean }>(
      'SELECT to_regclass($1) IS NOT NULL AS present',
      [KEYRING_TABLE],
    );
    if (!found.rows[0]?.present) return false;
    return (await client.query(`SELECT 1 FROM ${KEYRING_TABLE} LIMIT 1`)).rowCount !== 0;
  } finally {
    await client.end();
  }
}

/**
 * The drivers are the application's optional peers: `--help` and the commands of the other
 * engine must work without them, so each is loaded only when a command opens its database.
 */
async function importDriver<Driver>(name: 'pg' | 'better-sqlite3'): Promise<{ default: Driver }> {
  try {
    return (await import(name)) as { default: Driver };
  } catch (error) {
    if ((error as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new CliError(
      'DRIVER_NOT_INSTALLED',
      `the database driver "${name}" is not installed: npm i ${name} (in the application, or beside a global nest-kms)`,
    );
  }
}
