import { execFile, execFileSync } from 'node:child_process';
import {
  appendFileSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import type { TestDatabase } from './databases.js';
import { migrateDatabase } from './migrated-databases.js';
import { adminQuery } from './postgres-admin.js';

/*
 * Throwaway Postgres clusters of a test's own, for what the shared server cannot show: two
 * regions joined by logical replication (wal_level=logical is a server setting, fixed at start).
 */

const run = promisify(execFile);

/** The OS user the clusters run as: initdb and postgres refuse to run as root. */
const CLUSTER_USER = 'postgres';

/** The newest installed server's binaries (Debian/Ubuntu layout), or KMS_TEST_PG_BIN. */
export const PG_BIN_DIR: string =
  process.env.KMS_TEST_PG_BIN ??
  (() => {
    const root = '/usr/lib/postgresql';
    const versions = existsSync(root)
      ? readdirSync(root)
          .filter((name) => /^\d+$/.test(name))
          .sort((a, b) => Number(b) - Number(a))
      : [];
    return join(root, versions[0] ?? '15', 'bin');
  })();

function clusterUserId(): { uid: number; gid: number } | undefined {
  try {
    const id = (flag: string) => Number(execFileSync('id', [flag, CLUSTER_USER]).toString().trim());
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    return undefined;
  }
}

function clustersPossible(): string | undefined {
  for (const binary of ['initdb', 'pg_ctl']) {
    if (!existsSync(join(PG_BIN_DIR, binary))) return `${join(PG_BIN_DIR, binary)} is missing`;
  }
  if (process.getuid?.() === 0 && clusterUserId() === undefined) {
    return `the OS user ${CLUSTER_USER} is missing (the clusters cannot run as root)`;
  }
  return undefined;
}

/**
 * Whether this machine can start Postgres clusters of the tests' own. Where it cannot, the
 * suites that need them are skipped with a notice; under CI=true that is a failure instead.
 */
export const pgClustersAvailable: boolean = (() => {
  const missing = clustersPossible();
  if (missing === undefined) return true;
  if (process.env.CI === 'true') {
    throw new Error(`Postgres clusters cannot be started: ${missing}; CI=true requires them`);
  }
  console.warn(
    `[nest-kms tests] NOTICE: Postgres clusters cannot be started (${missing}); the multi-region suites are skipped`,
  );
  return false;
})();

/** A running throwaway cluster. */
export interface PgCluster {
  readonly port: number;
  /** The `postgres` database as the `postgres` superuser (trust authentication). */
  readonly url: string;
  /** Stops the server at once (`-m immediate`) and removes its files; safe to call twice. */
  stop(): Promise<void>;
}

/** Clusters still running: stopped when the process exits, should a test file end abruptly. */
const running = new Map<string, () => void>();
process.once('exit', () => {
  for (const stopNow of running.values()) stopNow();
});

/** As the cluster user when this process is root (tests run as root in containers). */
function asClusterUser(binary: string, args: string[]): [string, string[]] {
  const path = join(PG_BIN_DIR, binary);
  return process.getuid?.() === 0
    ? ['runuser', ['-u', CLUSTER_USER, '--', path, ...args]]
    : [path, args];
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Starts a new cluster on a free port of 127.0.0.1, ready for logical replication, with trust
 * authentication, its files in a new temporary directory. Stop it when done (`stop()`).
 */
export async function startPgCluster(): Promise<PgCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'nest-kms-pg-'));
  const owner = process.getuid?.() === 0 ? clusterUserId() : undefined;
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  try {
    await run(
      ...asClusterUser('initdb', [
        '-D',
        data,
        '-U',
        'postgres',
        '-A',
        'trust',
        '-E',
        'UTF8',
        '--no-sync',
        '--no-instructions',
      ]),
    );
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const port = await freePort();
  appendFileSync(
    join(data, 'postgresql.conf'),
    [
      `listen_addresses = '127.0.0.1'`,
      `port = ${port}`,
      // The socket beside the data: no clash with a system server's /var/run/postgresql.
      `unix_socket_directories = '${dir}'`,
      'wal_level = logical',
      'max_replication_slots = 10',
      'max_wal_senders = 10',
      // An apply worker per subscription plus the table-copy workers (default 4 in all).
      'max_logical_replication_workers = 12',
      'max_worker_processes = 16',
      // A re-enabled subscription's apply worker starts within this, not the default 5 s.
      "wal_retrieve_retry_interval = '200ms'",
      // Throwaway data: durability buys nothing and costs the shared disk.
      'fsync = off',
      'full_page_writes = off',
      'shared_buffers = 32MB',
      '',
    ].join('\n'),
  );
  const stopNow = () => {
    running.delete(dir);
    try {
      execFileSync(...asClusterUser('pg_ctl', ['stop', '-D', data, '-m', 'immediate', '-w']), {
        stdio: 'ignore',
      });
    } catch {
      // Not running (a failed start, or stopped already): only the files remain.
    }
    rmSync(dir, { recursive: true, force: true });
  };
  running.set(dir, stopNow);
  try {
    await run(...asClusterUser('pg_ctl', ['start', '-D', data, '-l', log, '-w', '-t', '30']));
  } catch (error) {
    const serverLog = existsSync(log) ? readFileSync(log, 'utf8').slice(-2_000) : '';
    stopNow();
    throw new Error(`Postgres cluster did not start: ${(error as Error).message}\n${serverLog}`, {
      cause: error,
    });
  }
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: async () => {
      if (running.has(dir)) stopNow();
    },
  };
}

/** `cluster`'s URL for database `name`. */
export function databaseUrl(cluster: PgCluster, name: string): string {
  return `postgres://postgres@127.0.0.1:${cluster.port}/${name}`;
}

/** Creates database `name` (a plain identifier) in `cluster`; returns its URL. */
export async function createDatabase(cluster: PgCluster, name: string): Promise<string> {
  await adminQuery(cluster.url, `CREATE DATABASE ${name}`);
  return databaseUrl(cluster, name);
}

/**
 * The nest-kms tables a second region receives (docs/multi-region.md): the keyring and the
 * secrets, not the audit trail (each region keeps the trail of the reads and writes made there;
 * its ids are generated per database, so two trails could not share one table anyway).
 */
export const REPLICATED_KMS_TABLES: readonly string[] = [
  'kms_keyring',
  'kms_data_keys',
  'kms_master_key_wraps',
  'kms_secrets',
  'kms_secret_versions',
  'kms_secret_tags',
];

/** A database of a throwaway cluster as the fixtures take it; the cluster goes with the file. */
export function clusterDatabase(url: string): TestDatabase {
  return { engine: 'postgres', connection: { type: 'postgres', url }, drop: async () => undefined };
}

/**
 * Region B's database (at `urlB`) made a subscriber of region A's nest-kms tables, as
 * docs/multi-region.md says: the libraries' migrations run in B (DDL does not replicate), A
 * publishes REPLICATED_KMS_TABLES (or `tables`), B subscribes and copies what A holds. Resolves
 * once B has caught up, so an application started on B then opens A's keyring.
 */
export async function replicateKmsTables(
  urlA: string,
  urlB: string,
  {
    publication,
    subscription,
    tables = REPLICATED_KMS_TABLES,
  }: { publication: string; subscription: string; tables?: readonly string[] },
): Promise<void> {
  await migrateDatabase(clusterDatabase(urlB));
  await createPublication(urlA, publication, tables);
  await createSubscription(urlB, subscription, urlA, publication);
  await waitForSubscription(urlB, subscription, urlA);
}

/** Publishes `tables` of the database at `url` as `publication`. */
export async function createPublication(
  url: string,
  publication: string,
  tables: readonly string[],
): Promise<void> {
  await adminQuery(url, `CREATE PUBLICATION ${publication} FOR TABLE ${tables.join(', ')}`);
}

/**
 * Subscribes the database at `subscriberUrl` to `publication` of the database at
 * `publisherUrl`, copying the rows already there; the tables must exist on both sides (DDL does
 * not replicate). The publisher is reached as the subscriber's server sees it (127.0.0.1).
 */
export async function createSubscription(
  subscriberUrl: string,
  subscription: string,
  publisherUrl: string,
  publication: string,
): Promise<void> {
  const publisher = new URL(publisherUrl);
  const conninfo = `host=${publisher.hostname} port=${publisher.port} dbname=${publisher.pathname.slice(1)} user=${publisher.username}`;
  await adminQuery(
    subscriberUrl,
    `CREATE SUBSCRIPTION ${subscription} CONNECTION '${conninfo}' PUBLICATION ${publication} WITH (copy_data = true)`,
  );
}

/** Runs `query` on a connection of its own to `url` and returns its rows. */
export async function queryRows<Row = Record<string, unknown>>(
  url: string,
  query: string,
  values: unknown[] = [],
): Promise<Row[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(query, values)).rows as Row[];
  } finally {
    await client.end();
  }
}

/**
 * Resolves once `subscription` in the database at `subscriberUrl` has copied every table and
 * applied everything its publisher at `publisherUrl` had written when this was called: every
 * table synchronised (pg_subscription_rel 'r'), then the apply position the subscriber reports
 * to the publisher (pg_stat_replication.replay_lsn, reported after a transaction is applied)
 * at or past the publisher's pg_current_wal_lsn. Throws after `timeoutMs`.
 */
export async function waitForSubscription(
  subscriberUrl: string,
  subscription: string,
  publisherUrl: string,
  { timeoutMs = 15_000, intervalMs = 20 } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const subscriber = new pg.Client({ connectionString: subscriberUrl });
  const publisher = new pg.Client({ connectionString: publisherUrl });
  await subscriber.connect();
  try {
    await publisher.connect();
    const [{ target }] = (
      await publisher.query<{ target: string }>('SELECT pg_current_wal_lsn()::text AS target')
    ).rows;
    for (;;) {
      const [{ syncing }] = (
        await subscriber.query<{ syncing: number }>(
          `SELECT count(*)::int AS syncing FROM pg_subscription_rel r
             JOIN pg_subscription s ON s.oid = r.srsubid
            WHERE s.subname = $1 AND r.srsubstate <> 'r'`,
          [subscription],
        )
      ).rows;
      const caughtUp =
        syncing === 0 &&
        (
          await publisher.query(
            `SELECT 1 FROM pg_stat_replication
              WHERE application_name = $1 AND replay_lsn >= $2::pg_lsn`,
            [subscription, target],
          )
        ).rowCount === 1;
      if (caughtUp) return;
      if (Date.now() > deadline) {
        const state = await queryRows(
          publisherUrl,
          'SELECT application_name, state, sent_lsn, replay_lsn FROM pg_stat_replication',
        );
        throw new Error(
          `subscription ${subscription} did not reach ${target} within ${timeoutMs} ms (${syncing} tables still copying; publisher's senders: ${JSON.stringify(state)})`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  } finally {
    await subscriber.end();
    await publisher.end().catch(() => undefined);
  }
}

/**
 * Replication lag, for real: the subscription's apply stops, and what the publisher writes
 * meanwhile waits in its WAL (the replication slot keeps it) until resumeSubscription.
 */
export async function pauseSubscription(
  subscriberUrl: string,
  subscription: string,
): Promise<void> {
  await adminQuery(subscriberUrl, `ALTER SUBSCRIPTION ${subscription} DISABLE`);
}

/** The apply starts again from where it stopped; waitForSubscription tells when it caught up. */
export async function resumeSubscription(
  subscriberUrl: string,
  subscription: string,
): Promise<void> {
  await adminQuery(subscriberUrl, `ALTER SUBSCRIPTION ${subscription} ENABLE`);
}
