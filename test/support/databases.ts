import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { KmsConnectionOptions } from '@nest-kms/kms';

export type Engine = 'sqlite' | 'postgres';

/** Postgres for the suites: KMS_TEST_PG_URL, or the machine's local server. */
export const PG_URL = process.env.KMS_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function postgresAnswers(): Promise<boolean> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3_000 });
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

const postgresUp = await postgresAnswers();
if (!postgresUp) {
  if (process.env.CI === 'true') {
    throw new Error(`Postgres does not answer at ${PG_URL}; CI=true requires it`);
  }
  console.warn(
    `[nest-kms tests] NOTICE: Postgres does not answer at ${PG_URL}; Postgres suites are skipped`,
  );
}

/** The engines every storage suite runs on: SQLite always, Postgres where it answers. */
export const ENGINES: Engine[] = postgresUp ? ['sqlite', 'postgres'] : ['sqlite'];

export interface TestDatabase {
  readonly engine: Engine;
  /** Options for a fresh, empty database (same database for every call: reuse it to "restart"). */
  readonly connection: KmsConnectionOptions;
  drop(): Promise<void>;
}

/** A fresh empty database: a temp SQLite file, or a new Postgres database dropped afterwards. */
export async function createTestDatabase(engine: Engine): Promise<TestDatabase> {
  if (engine === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'nest-kms-test-'));
    return {
      engine,
      connection: { type: 'better-sqlite3', database: join(dir, 'kms.sqlite') },
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const name = `kms_test_${randomBytes(6).toString('hex')}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  return {
    engine,
    connection: { type: 'postgres', url: url.toString() },
    drop: () => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
