import { KmsError } from './kms.error.js';

/**
 * The database did not answer: refused or dropped connections, a connect or statement timeout,
 * a lock held past SQLite's busy timeout. Transient: the same call succeeds once the database
 * is back, and nothing needs restarting. Cached secrets and encryption with loaded keys go on
 * working meanwhile.
 */
export class DatabaseUnavailableError extends KmsError {
  readonly code = 'DATABASE_UNAVAILABLE';
  constructor(
    /** What the driver reported: a network, SQLSTATE or SQLite code, or a timeout. Never a value. */
    readonly reason: string,
  ) {
    super(
      `The database is unavailable (${reason}); retry once it answers again. Time limits: KmsModule option database (connectTimeoutMs, statementTimeoutMs)`,
    );
  }
}
