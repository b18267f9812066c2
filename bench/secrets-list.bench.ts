/**
 * Many secrets: SecretsService.listSecrets at 1,000 / 10,000 / 100,000 secrets, on in-memory
 * SQLite and on Postgres, each against its floor in the same run; then getSecrets of 50 names
 * against a loop of 50 getSecret calls, cached and uncached.
 *
 *   page — listSecrets({ after, limit: 50 }) from the middle of the names. Floor: the bare
 *          indexed SELECT of the same 51 rows (metadata columns, live names in byte order after
 *          the cursor) through the same driver (a prepared better-sqlite3 statement; a pooled pg
 *          query), no mapping.
 *   tag  — listSecrets({ tag: 'rare', limit: 50 }): 10 secrets carry the tag, spread over the
 *          names. Floor: the bare SELECT joining the tag's rows to their secrets, same driver.
 *   batch — getSecrets(50 names) against `for (name of names) await getSecret(name)`: with
 *          every value cached, and with the cache cleared before each iteration (outside the
 *          timed window).
 *
 *   npm run build:packages && npx tsc -p bench/tsconfig.json && node dist/bench/bench/secrets-list.bench.js
 *   BENCH_ROUNDS=5 BENCH_LIST_ITERATIONS=3000 BENCH_LIST_SIZES=1000,10000 ...
 *                      (defaults: 3 rounds, 2,000 iterations per listing task, 200 per batch task)
 *   BENCH_PG_URL=postgres://user@host:5432/db   (a fresh database is created per size and dropped)
 *
 * The stores are seeded with bulk INSERTs of valid rows (one envelope, made by setSecret, reused
 * for every seeded secret: listing never opens it); the 50 secrets the batch reads are stored by
 * setSecret. Not a test: nothing here asserts on time; each task's result is checked once, so a
 * broken build cannot print a flattering figure.
 */
import 'reflect-metadata';
import type { INestApplicationContext } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Bench, type Task } from 'tinybench';
import { KmsModule, type KmsConnectionOptions } from '@nest-kms/kms';
import { KmsStorage } from '@nest-kms/kms/extension';
import { SecretsModule, SecretsService } from '@nest-kms/secrets';
import type { DataSource } from 'typeorm';
import {
  alignedTable,
  completedResult,
  createBenchDatabase,
  formatOps,
  median,
  positiveInt,
  printMachine,
  rawSqliteConnection,
  startApp,
} from './bench-support.js';

type Engine = 'sqlite' | 'postgres';

const ROUNDS = positiveInt('BENCH_ROUNDS', 3);
const LIST_ITERATIONS = positiveInt('BENCH_LIST_ITERATIONS', 2_000);
const BATCH_ITERATIONS = positiveInt('BENCH_BATCH_ITERATIONS', 200);
const SIZES = (process.env.BENCH_LIST_SIZES ?? '1000,10000,100000').split(',').map(Number);
const PAGE = 50;
const RARE = 10;
const BATCH = 50;
/** The listing target: library time ÷ floor time at most this, at every size. */
const TARGET = 2;
/** Buffered audit records are written every so many listing iterations, outside the windows. */
const AUDIT_EVERY = 400;
const ROWS_PER_INSERT = 400;

const COLUMNS =
  's.name, s.current_version, s.current_key_id, s.rotation_policy, s.tags, s.description, s.created_at, s.updated_at, s.expires_at';

/** The floors' SQL, as the listing sends it (byte order: COLLATE "C" on Postgres). */
function floorSql(engine: Engine): { page: string; tag: string } {
  const pgEngine = engine === 'postgres';
  const c = pgEngine ? ' COLLATE "C"' : '';
  const p = (n: number) => (pgEngine ? `$${n}` : '?');
  return {
    page: `SELECT ${COLUMNS} FROM kms_secrets s WHERE s.deleted_at IS NULL AND s.name${c} > ${p(1)} ORDER BY s.name${c} LIMIT ${p(2)}`,
    tag: `SELECT ${COLUMNS} FROM kms_secret_tags t JOIN kms_secrets s ON s.name = t.secret_name WHERE t.tag = ${p(1)} AND s.deleted_at IS NULL ORDER BY t.secret_name${c} LIMIT ${p(2)}`,
  };
}

const nameOf = (i: number): string => `svc-${String(i).padStart(6, '0')}/api-key`;
const batchNames = Array.from({ length: BATCH }, (_, i) => `batch/${String(i).padStart(2, '0')}`);

interface Fixture {
  engine: Engine;
  size: number;
  app: INestApplicationContext;
  secrets: SecretsService;
  middle: string;
  floorPage(): Promise<unknown[]> | unknown[];
  floorTag(): Promise<unknown[]> | unknown[];
  close(): Promise<void>;
}

function modules(connection: KmsConnectionOptions) {
  return [
    KmsModule.forRoot({ masterKey: randomBytes(32).toString('base64'), connection }),
    SecretsModule.forRoot(),
  ];
}

/** `size` secrets by bulk INSERT (plus the batch's 50 by setSecret), analysed. */
async function seed(secrets: SecretsService, dataSource: DataSource, size: number): Promise<void> {
  const template = await secrets.setSecret('seed/template', 'seed value');
  for (const name of batchNames) await secrets.setSecret(name, `value of ${name}`);
  const [row] = (await dataSource.query(
    "SELECT current_envelope FROM kms_secrets WHERE name = 'seed/template'",
  )) as { current_envelope: string }[];
  const postgres = dataSource.options.type === 'postgres';
  const now = Date.now();
  const rareEvery = Math.floor(size / RARE);
  const insert = async (table: string, columns: string[], rows: unknown[][]) => {
    for (let at = 0; at < rows.length; at += ROWS_PER_INSERT) {
      const chunk = rows.slice(at, at + ROWS_PER_INSERT);
      let n = 0;
      const values = chunk
        .map(() => `(${columns.map(() => (postgres ? `$${++n}` : '?')).join(', ')})`)
        .join(', ');
      await dataSource.query(
        `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${values}`,
        chunk.flat(),
      );
    }
  };
  const secretsRows: unknown[][] = [];
  const versionRows: unknown[][] = [];
  const tagRows: unknown[][] = [];
  for (let i = 0; i < size; i++) {
    const name = nameOf(i);
    const tags: Record<string, string> = { team: `t${i % 10}` };
    if (i % rareEvery === rareEvery >> 1) tags.rare = 'yes';
    secretsRows.push([
      name,
      1,
      row.current_envelope,
      template.keyId,
      'manual',
      JSON.stringify(tags),
      now,
      now,
    ]);
    versionRows.push([name, 1, row.current_envelope, template.keyId, now]);
    for (const [key, value] of Object.entries(tags)) {
      tagRows.push([name, key], [name, `${key}=${value}`]);
    }
  }
  await insert(
    'kms_secrets',
    [
      'name',
      'current_version',
      'current_envelope',
      'current_key_id',
      'rotation_policy',
      'tags',
      'created_at',
      'updated_at',
    ],
    secretsRows,
  );
  await insert(
    'kms_secret_versions',
    ['secret_name', 'version', 'envelope', 'key_id', 'created_at'],
    versionRows,
  );
  await insert('kms_secret_tags', ['secret_name', 'tag'], tagRows);
  // Statistics as a running database has them, so each engine plans as it would there.
  await dataSource.query('ANALYZE');
}

async function fixture(engine: Engine, size: number): Promise<Fixture | undefined> {
  const sql = floorSql(engine);
  const middle = nameOf(Math.floor(size / 2));
  if (engine === 'sqlite') {
    const app = await startApp(modules({ type: 'better-sqlite3', database: ':memory:' }));
    const dataSource = await app.get(KmsStorage).dataSource();
    const secrets = app.get(SecretsService);
    await seed(secrets, dataSource, size);
    const db = rawSqliteConnection(dataSource);
    const page = db.prepare(sql.page);
    const tag = db.prepare(sql.tag);
    return {
      engine,
      size,
      app,
      secrets,
      middle,
      floorPage: () => page.all(middle, PAGE + 1),
      floorTag: () => tag.all('rare', PAGE + 1),
      close: () => app.close(),
    };
  }
  const database = await createBenchDatabase();
  if (!database) return undefined;
  const app = await startApp(modules({ type: 'postgres', url: database.url }));
  const pool = new pg.Pool({ connectionString: database.url, max: 2 });
  const dataSource = await app.get(KmsStorage).dataSource();
  const secrets = app.get(SecretsService);
  await seed(secrets, dataSource, size);
  return {
    engine,
    size,
    app,
    secrets,
    middle,
    floorPage: async () => (await pool.query(sql.page, [middle, PAGE + 1])).rows,
    floorTag: async () => (await pool.query(sql.tag, ['rare', PAGE + 1])).rows,
    close: async () => {
      await app.close();
      await pool.end();
      await database.drop();
    },
  };
}

/** Each operation's answer, once: the figures below mean something only if these hold. */
async function check(f: Fixture): Promise<void> {
  const page = await f.secrets.listSecrets({ after: f.middle, limit: PAGE });
  const floor = (await f.floorPage()) as { name: string }[];
  const same =
    page.secrets.map((s) => s.name).join() ===
    floor
      .slice(0, PAGE)
      .map((r) => r.name)
      .join();
  if (page.secrets.length !== PAGE || !same)
    throw new Error(`${f.engine} page differs from its floor`);
  const tagged = await f.secrets.listSecrets({ tag: 'rare', limit: PAGE });
  if (tagged.secrets.length !== RARE || (await f.floorTag()).length !== RARE) {
    throw new Error(`${f.engine} tag listing did not find the ${RARE} tagged secrets`);
  }
  const batch = await f.secrets.getSecrets(batchNames);
  if (!batch.every((result, i) => result.ok && result.value === `value of ${batchNames[i]}`)) {
    throw new Error(`${f.engine} getSecrets did not return every value`);
  }
}

/** Writes the buffered audit records now (the shutdown hook's flush; the service goes on). */
const drainAudit = (f: Fixture) => f.secrets.beforeApplicationShutdown();

interface Row {
  group: string;
  engine: Engine;
  size: number;
  impl: string;
  ops: number[];
  p50: number[];
}

const sink: unknown[] = [undefined];

function record(rows: Map<string, Row>, task: Task, base: Omit<Row, 'ops' | 'p50' | 'impl'>) {
  const result = completedResult(task);
  const key = `${base.group}|${base.engine}|${base.size}|${task.name}`;
  const row = rows.get(key) ?? { ...base, impl: task.name, ops: [], p50: [] };
  row.ops.push(1000 / result.period);
  row.p50.push(result.latency.p50);
  rows.set(key, row);
}

async function runListing(rows: Map<string, Row>, f: Fixture): Promise<void> {
  for (const group of ['page', 'tag'] as const) {
    let iterations = 0;
    const afterEach = async () => {
      if (++iterations % AUDIT_EVERY === 0) await drainAudit(f);
    };
    const bench = new Bench({
      time: 0,
      iterations: LIST_ITERATIONS,
      warmupTime: 0,
      warmupIterations: LIST_ITERATIONS / 4,
      throws: true,
    });
    const floor = group === 'page' ? f.floorPage : f.floorTag;
    bench.add('floor: bare SELECT', async () => {
      sink[0] = await floor();
    });
    const options =
      group === 'page' ? { after: f.middle, limit: PAGE } : { tag: 'rare', limit: PAGE };
    bench.add(
      'listSecrets',
      async () => {
        sink[0] = await f.secrets.listSecrets(options);
      },
      { afterEach, afterAll: () => drainAudit(f) },
    );
    for (const task of await bench.run()) {
      record(rows, task, { group, engine: f.engine, size: f.size });
    }
  }
}

async function runBatch(rows: Map<string, Row>, f: Fixture): Promise<void> {
  for (const group of ['batch cached', 'batch uncached'] as const) {
    const hooks = {
      beforeEach: () => {
        if (group === 'batch uncached') f.secrets.clearCache();
      },
      // 50 records an iteration: written every 8 iterations (below the buffer's own batch).
      afterEach: async () => {
        if (++iterations % 8 === 0) await drainAudit(f);
      },
      afterAll: () => drainAudit(f),
    };
    let iterations = 0;
    const bench = new Bench({
      time: 0,
      iterations: BATCH_ITERATIONS,
      warmupTime: 0,
      warmupIterations: BATCH_ITERATIONS / 4,
      throws: true,
    });
    bench.add(
      'loop of 50 getSecret',
      async () => {
        for (const name of batchNames) sink[0] = await f.secrets.getSecret(name);
      },
      hooks,
    );
    bench.add(
      'getSecrets(50)',
      async () => {
        sink[0] = await f.secrets.getSecrets(batchNames);
      },
      hooks,
    );
    for (const task of await bench.run()) {
      record(rows, task, { group, engine: f.engine, size: f.size });
    }
  }
}

async function main(): Promise<void> {
  process.stdout.write('\nSecretsService.listSecrets and getSecrets against their floors\n');
  printMachine(
    `sizes ${SIZES.join(', ')}; page of ${PAGE}; a tag on ${RARE} secrets; batches of ${BATCH}; SecretsModule defaults`,
  );
  const rows = new Map<string, Row>();
  for (const engine of ['sqlite', 'postgres'] as const) {
    for (const size of SIZES) {
      const started = performance.now();
      const f = await fixture(engine, size);
      if (!f) continue;
      try {
        await check(f);
        const seeded = ((performance.now() - started) / 1000).toFixed(1);
        for (let round = 0; round < ROUNDS; round++) {
          await runListing(rows, f);
          if (size === SIZES[0]) await runBatch(rows, f);
        }
        process.stdout.write(
          `${engine} ${size}: seeded in ${seeded} s, measured in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
        );
      } finally {
        await f.close();
      }
    }
  }
  printTables(rows);
}

function printTables(rows: Map<string, Row>): void {
  const all = [...rows.values()];
  const lines: string[][] = [];
  const verdicts: string[] = [];
  for (const group of ['page', 'tag', 'batch cached', 'batch uncached']) {
    for (const engine of ['sqlite', 'postgres'] as const) {
      for (const size of SIZES) {
        const pair = all.filter((r) => r.group === group && r.engine === engine && r.size === size);
        if (pair.length !== 2) continue;
        const [base, lib] = pair;
        const ratios = lib.ops.map((ops, i) => base.ops[i] / ops);
        const ratio = median(ratios);
        for (const row of pair) {
          const isLib = row === lib;
          lines.push([
            group,
            engine,
            formatOps(size),
            row.impl,
            formatOps(median(row.ops)),
            `${(median(row.p50) * 1000).toFixed(1)}`,
            isLib ? `${ratio.toFixed(2)}×` : '1×',
            isLib ? `${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}×` : '',
          ]);
        }
        if (group === 'page' || group === 'tag') {
          verdicts.push(
            `${group} on ${engine} at ${formatOps(size)}: ${ratio.toFixed(2)}× the floor (target ≤ ${TARGET}×): ${ratio <= TARGET ? 'MET' : 'NOT MET'}`,
          );
        } else {
          verdicts.push(
            `${group} on ${engine}: getSecrets(50) takes ${ratio.toFixed(2)}× the loop's time (${(1 / ratio).toFixed(1)}× faster per item)`,
          );
        }
      }
    }
  }
  process.stdout.write(
    [
      '',
      `median of ${ROUNDS} round(s); ${LIST_ITERATIONS} iterations per listing task, ${BATCH_ITERATIONS} per batch task (+25 % warm-up)`,
      '× = the first row of the pair (floor, or the loop) ops/s ÷ this row ops/s, per round, then the median (min–max)',
      '',
      '',
    ].join('\n'),
  );
  process.stdout.write(
    alignedTable(
      ['case', 'engine', 'secrets', 'impl', 'ops/s', 'p50 µs', '×', '× min–max'],
      lines,
      [2, 4, 5, 6, 7],
    ),
  );
  process.stdout.write(`\n${verdicts.join('\n')}\n`);
}

await main();
