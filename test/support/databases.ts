import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import type { KmsConnectionOptions } from '@nest-kms/kms';
import { adminQuery, postgresAnswers } from './postgres-admin.js';

export type Engine = 'sqlite' | 'postgres';

/** Postgres for the suites: KMS_TEST_PG_URL, or the machine's local server. */
export const PG_URL = process.env.KMS_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const postgresUp = await postgresAnswers(PG_URL);
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
  /**
   * Removes the database. A Postgres DROP goes on while the next test runs (it takes 0.3-1 s and
   * nothing waits for it); the spec file ends only when every one is done, failing if one failed.
   */
  drop(): Promise<void>;
}

/** Postgres DROPs under way: awaited once the spec file's tests are done (vitest loads this per file). */
const dropsUnderWay = new Set<Promise<void>>();
afterAll(async () => {
  await Promise.all(dropsUnderWay);
});

function dropInBackground(name: string): void {
  const drop = adminQuery(PG_URL, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  dropsUnderWay.add(drop);
  // Settled drops leave the set; a failed one stays for afterAll to report.
  void drop.then(
    () => dropsUnderWay.delete(drop),
    () => undefined,
  );
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
  return newPostgresDatabase('');
}

/**
 * A new Postgres database with `source`'s tables and rows (Postgres copies it as a template;
 * nobody may be connected to `source` meanwhile), dropped like any other test database.
 */
export async function cloneTestDatabase(source: TestDatabase): Promise<TestDatabase> {
  const url = (source.connection as { url?: string }).url;
  if (source.engine !== 'postgres' || url === undefined) {
    throw new Error('only a Postgres test database can be cloned');
  }
  return newPostgresDatabase(` TEMPLATE ${new URL(url).pathname.slice(1)}`);
}

async function newPostgresDatabase(createOptions: string): Promise<TestDatabase> {
  const name = `kms_test_${randomBytes(6).toString('hex')}`;
  await adminQuery(PG_URL, `CREATE DATABASE ${name}${createOptions}`);
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  return {
    engine: 'postgres',
    connection: { type: 'postgres', url: url.toString() },
    drop: async () => dropInBackground(name),
  };
}

/**
 * How a process (the demo, the CLI, an installed app) is pointed at a test database:
 * DATABASE_URL for Postgres, SQLITE_PATH for SQLite.
 */
export function databaseEnv(db: TestDatabase): Record<string, string> {
  const connection = db.connection;
  if (connection.type === 'postgres') return { DATABASE_URL: String(connection.url) };
  return { SQLITE_PATH: String(connection.database) };
}
