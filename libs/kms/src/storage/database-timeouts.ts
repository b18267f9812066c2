import type { DataSourceOptions } from 'typeorm';
import type { KmsDatabaseOptions } from '../interfaces/kms-module-options.interface.js';

/** Time limits with every default applied. */
export interface DatabaseTimeouts {
  connectTimeoutMs: number;
  statementTimeoutMs: number;
}

export const DEFAULT_DATABASE_TIMEOUTS: Readonly<DatabaseTimeouts> = {
  connectTimeoutMs: 5_000,
  statementTimeoutMs: 10_000,
};

/**
 * The client gives up this much later than the server's statement_timeout (at most a second):
 * a server that answers cancels the statement itself and keeps the connection; one that is
 * unreachable cannot, and the client's query_timeout ends the wait.
 */
const CLIENT_TIMEOUT_MARGIN_MS = 1_000;

/** The fields of DataSource options the time limits touch (the literal `type` keeps its union). */
type WithDriverOptions = {
  type: DataSourceOptions['type'];
  extra?: unknown;
  connectTimeoutMS?: number;
  timeout?: number;
};

/**
 * DataSource options with nest-kms's time limits for the driver, so that a database that is
 * down or silent fails a call within a bounded time instead of hanging it:
 * - Postgres: `connectTimeoutMS` (pg-pool's connectionTimeoutMillis, which also bounds the wait
 *   for a free pooled connection), `statement_timeout` (server side), `query_timeout` (client
 *   side, for a server that no longer answers) and TCP keep-alive.
 * - better-sqlite3: `timeout`, the busy timeout (how long a statement waits for a lock).
 *
 * KmsModule applies it to the DataSource it opens from `connection`. An application that brings
 * its own DataSource applies it there: `TypeOrmModule.forRoot(withDatabaseTimeouts({ ... }))`.
 * Values already in `options` (and its `extra`) win.
 */
export function withDatabaseTimeouts<Options extends WithDriverOptions>(
  options: Options,
  timeouts: KmsDatabaseOptions = {},
): Options {
  const { connectTimeoutMs, statementTimeoutMs } = { ...DEFAULT_DATABASE_TIMEOUTS, ...timeouts };
  if (options.type === 'postgres') {
    return {
      ...options,
      connectTimeoutMS: options.connectTimeoutMS ?? connectTimeoutMs,
      extra: {
        statement_timeout: statementTimeoutMs,
        query_timeout: statementTimeoutMs + Math.min(statementTimeoutMs, CLIENT_TIMEOUT_MARGIN_MS),
        keepAlive: true,
        ...(options.extra as object | undefined),
      },
    };
  }
  if (options.type === 'better-sqlite3') {
    return { ...options, timeout: options.timeout ?? statementTimeoutMs };
  }
  return options;
}
