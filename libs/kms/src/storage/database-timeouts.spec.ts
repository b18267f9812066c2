import { withDatabaseTimeouts } from './database-timeouts.js';

describe('withDatabaseTimeouts', () => {
  it('gives Postgres a connect timeout, statement_timeout, a later query_timeout and keep-alive', () => {
    expect(withDatabaseTimeouts({ type: 'postgres', url: 'postgres://db/app' })).toEqual({
      type: 'postgres',
      url: 'postgres://db/app',
      connectTimeoutMS: 5_000,
      extra: { statement_timeout: 10_000, query_timeout: 11_000, keepAlive: true },
    });
    expect(
      withDatabaseTimeouts(
        { type: 'postgres' },
        { connectTimeoutMs: 300, statementTimeoutMs: 200 },
      ),
    ).toMatchObject({
      connectTimeoutMS: 300,
      extra: { statement_timeout: 200, query_timeout: 400 },
    });
  });

  it('gives SQLite its busy timeout', () => {
    expect(withDatabaseTimeouts({ type: 'better-sqlite3', database: 'x.sqlite' })).toEqual({
      type: 'better-sqlite3',
      database: 'x.sqlite',
      timeout: 10_000,
    });
  });

  it('keeps what the application set itself', () => {
    expect(
      withDatabaseTimeouts({
        type: 'postgres',
        connectTimeoutMS: 1_234,
        extra: { statement_timeout: 0, max: 20 },
      }),
    ).toEqual({
      type: 'postgres',
      connectTimeoutMS: 1_234,
      extra: { statement_timeout: 0, query_timeout: 11_000, keepAlive: true, max: 20 },
    });
    expect(withDatabaseTimeouts({ type: 'better-sqlite3', timeout: 50 })).toMatchObject({
      timeout: 50,
    });
  });
});
