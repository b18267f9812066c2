import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import pg from 'pg';
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
  if (!sqliteHasKeyring(file)) {
    throw new KeyringNotFoundError(database, 'the file has no keyring table or row');
  }
}

function sqliteHasKeyring(file: string): boolean {
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
