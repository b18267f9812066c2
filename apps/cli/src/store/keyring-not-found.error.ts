import { CliError, EXIT } from '../cli-errors.js';
import type { DatabaseTarget } from './database-target.js';

/**
 * A command that must not start a keyring found none where it looked: the database named by
 * --db, DATABASE_URL, SQLITE_PATH or the default is missing or holds no nest-kms keyring.
 * Nothing was created; the message names where it looked and how to point it elsewhere.
 */
export class KeyringNotFoundError extends CliError {
  constructor(
    readonly database: DatabaseTarget,
    problem: string,
  ) {
    super(
      'KEYRING_NOT_FOUND',
      `no nest-kms keyring in ${database.quoted}: ${problem}; nothing was created. ` +
        "Point the CLI at your application's database with --db PATH|URL, DATABASE_URL (Postgres) " +
        'or SQLITE_PATH (the demo keeps it in $DATA_DIR/demo.sqlite); "nest-kms secrets set" or ' +
        '"backup import" start a new one',
      EXIT.notFound,
    );
  }
}
