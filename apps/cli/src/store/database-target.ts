import type { KmsConnectionOptions } from '@nest-kms/kms';
import { CliError, EXIT, maskCredentials } from '../cli-errors.js';

/** The library's own default outside production (KmsModule without `connection`). */
export const DEFAULT_SQLITE_PATH = 'data/nest-kms.sqlite';

export interface DatabaseTarget {
  readonly connection: KmsConnectionOptions;
  /** For output: the engine and where, with any password masked. */
  readonly description: string;
  /** The SQLite file, when it is one. */
  readonly sqliteFile?: string;
}

const POSTGRES_URL = /^postgres(ql)?:\/\//i;

/**
 * Where the keyring and secrets live, as the demo app finds them: `--db` (a postgres:// URL or a
 * SQLite path), else DATABASE_URL (Postgres), else KMS_SQLITE_PATH, else data/nest-kms.sqlite.
 * In production the fallback to a local file is refused, as KmsModule refuses it: a private
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
        'DATABASE_URL must be a postgres:// URL; for SQLite use --db PATH or KMS_SQLITE_PATH',
        EXIT.usage,
      );
    }
    return fromLocation(env.DATABASE_URL, 'DATABASE_URL');
  }
  if (env.KMS_SQLITE_PATH) return fromLocation(env.KMS_SQLITE_PATH, 'KMS_SQLITE_PATH');
  if (env.NODE_ENV === 'production') {
    throw new CliError(
      'KMS_CONFIGURATION',
      'NODE_ENV is production and no database is named: set DATABASE_URL (or pass --db) to the database your application uses',
      EXIT.usage,
    );
  }
  return fromLocation(DEFAULT_SQLITE_PATH, 'default');
}

function fromLocation(location: string, source: string): DatabaseTarget {
  if (POSTGRES_URL.test(location)) {
    return {
      connection: { type: 'postgres', url: location },
      description: `postgres ${maskCredentials(location)} (${source})`,
    };
  }
  return {
    connection: { type: 'better-sqlite3', database: location },
    description: `sqlite ${location} (${source})`,
    sqliteFile: location,
  };
}
