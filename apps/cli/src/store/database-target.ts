import { join } from 'node:path';
import { quotedInput, type KmsConnectionOptions } from '@nest-kms/kms';
import { CliError, EXIT, maskCredentials } from '../cli-errors.js';

/** The demo application's file in its data directory: run beside it, the CLI finds its keyring. */
export const DEFAULT_SQLITE_FILE = 'demo.sqlite';
/** The data directory when DATA_DIR is not set, as for the demo. */
export const DEFAULT_DATA_DIR = 'data';

export interface DatabaseTarget {
  readonly connection: KmsConnectionOptions;
  /** For output: the engine and where, with any password masked. */
  readonly description: string;
  /** For error messages: as `description`, the location bounded and escaped (it is operator input). */
  readonly quoted: string;
  /** The SQLite file, when it is one. */
  readonly sqliteFile?: string;
}

const POSTGRES_URL = /^postgres(ql)?:\/\//i;

/**
 * Where the keyring and secrets live, as the demo app finds them: `--db` (a postgres:// URL or a
 * SQLite path), else DATABASE_URL (Postgres), else SQLITE_PATH, else `$DATA_DIR/demo.sqlite`
 * (DATA_DIR defaults to `data`). In production the fallback to a local file is refused, as KmsModule refuses it: a private
 * SQLite file there would grow a second keyring beside the shared one.
 */
export function resolveDatabaseTarget(
  flag: string | undefined,
  env: NodeJS.ProcessEnv,
): DatabaseTarget {
  if (flag !== undefined && flag !== '') return fromLocation(flag, '--db');
  if (env.DATABASE_URL) {
    if (!POSTGRES_URL.test(env.DATABASE_URL)) {
      throw new CliError(
        'KMS_CONFIGURATION',
        'DATABASE_URL must be a postgres:// URL; for SQLite use --db PATH or SQLITE_PATH',
        EXIT.usage,
      );
    }
    return fromLocation(env.DATABASE_URL, 'DATABASE_URL');
  }
  if (env.SQLITE_PATH) return fromLocation(env.SQLITE_PATH, 'SQLITE_PATH');
  if (env.NODE_ENV === 'production') {
    throw new CliError(
      'KMS_CONFIGURATION',
      'NODE_ENV is production and no database is named: set DATABASE_URL (or pass --db) to the database your application uses',
      EXIT.usage,
    );
  }
  return env.DATA_DIR
    ? fromLocation(join(env.DATA_DIR, DEFAULT_SQLITE_FILE), 'DATA_DIR')
    : fromLocation(join(DEFAULT_DATA_DIR, DEFAULT_SQLITE_FILE), 'default');
}

function fromLocation(location: string, source: string): DatabaseTarget {
  if (POSTGRES_URL.test(location)) {
    const masked = maskCredentials(location);
    return {
      connection: { type: 'postgres', url: location },
      description: `postgres ${masked} (${source})`,
      quoted: `postgres ${quotedInput(masked)} (${source})`,
    };
  }
  return {
    connection: { type: 'better-sqlite3', database: location },
    description: `sqlite ${location} (${source})`,
    quoted: `sqlite ${quotedInput(location)} (${source})`,
    sqliteFile: location,
  };
}
