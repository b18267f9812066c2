import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';

/** better-sqlite3's names for a database that lives in memory or in a temporary file. */
const NOT_A_FILE = new Set(['', ':memory:']);

/**
 * Creates an SQLite database file readable and writable by its owner only (0600), and its
 * directory (0700), before SQLite opens it: SQLite would create it under the umask (usually
 * 0644), and it holds the wrapped keys and every envelope. SQLite gives the -journal, -wal and
 * -shm files it makes later the database file's mode. An existing file is left as it is.
 */
export function createPrivateSqliteFile(database: string): void {
  if (NOT_A_FILE.has(database) || database.startsWith('file:')) return;
  mkdirSync(dirname(database), { recursive: true, mode: 0o700 });
  let descriptor: number;
  try {
    descriptor = openSync(database, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw error;
  }
  closeSync(descriptor);
}
