import pg from 'pg';

/*
 * Postgres server chores shared by the test suites (test/support/databases.ts) and the
 * benchmarks (bench/bench-support.ts): whether the server answers, and one statement on a
 * connection of its own (CREATE / DROP DATABASE cannot run inside a transaction or a pool).
 */

/** Whether the server at `url` answers a query within a few seconds. */
export async function postgresAnswers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Runs `sql` on a connection of its own to `url`, closed afterwards. */
export async function adminQuery(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
