/**
 * SecretsService.getSecret, cache hit and cache miss, on SQLite and on Postgres, each against
 * its floor, measured side by side in the same process and the same round:
 *
 *   hit  — floor: a bare Map lookup, inside an async task exactly as the getSecret task runs.
 *   miss — floor: a bare primary-key SELECT of the same kms_secrets row through the same driver
 *          (a prepared better-sqlite3 statement; a pooled pg query) plus one open of its envelope
 *          with the secret's AAD, through the store's own envelopes (purposeEnvelopes(kms,
 *          'secret'): the store writes format v2 for its purpose, which kms.decryptData refuses).
 *
 *   npm run bench              (builds with `nest build bench`, runs kms.bench.js, then this)
 *   BENCH_ROUNDS=7 BENCH_SECRETS_HIT_ITERATIONS=50000 BENCH_SECRETS_MISS_ITERATIONS=10000 npm run bench
 *                              (defaults: 5 rounds, 20,000 hit and 5,000 miss iterations per task,
 *                              each after half as many warm-up iterations)
 *   BENCH_PG_URL=postgres://user@host:5432/db           (default: postgres://postgres@127.0.0.1:5432/test)
 *
 * On Postgres a fresh database is created for the run and dropped afterwards (BENCH_PG_URL names
 * the database to connect to for that). When Postgres does not answer, its rows are skipped with
 * a notice, unless BENCH_REQUIRE_PG=1.
 *
 * Not a test: nothing here asserts on time. The checks are that every task returns the secret's
 * value and that a hit task hit and a miss task missed on every iteration, so a broken build or
 * a silently warm cache cannot produce a flattering number.
 */
import 'reflect-metadata';
import type { INestApplicationContext } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import {
  alignedTable,
  completedResult,
  createBenchDatabase,
  createBenchSqliteFile,
  formatOps,
  median,
  type ModuleImports,
  positiveInt,
  printMachine,
  rawSqliteConnection,
  secretBinding,
  startApp,
} from './bench-support.js';
import pg from 'pg';
import { Bench, type Task } from 'tinybench';
import { KmsModule, KmsService, type KmsConnectionOptions } from '@nest-kms/kms';
import { KmsStorage, purposeEnvelopes, type PurposeEnvelopes } from '@nest-kms/kms/extension';
import { SecretsModule, SecretsService } from '@nest-kms/secrets';

type Engine = 'sqlite' | 'postgres';
type Case = 'hit' | 'miss';
type Implementation = 'floor' | 'secrets';

/** The targets we hold cached reads to: library time ÷ floor time at most this; hit p50 below HIT_P50_US. */
const TARGETS: Record<Case, Record<Engine, number>> = {
  hit: { sqlite: 3, postgres: 3 },
  miss: { sqlite: 3, postgres: 1.5 },
};
const HIT_P50_US = 2;

const ROUNDS = positiveInt('BENCH_ROUNDS', 5);
const HIT_ITERATIONS = positiveInt('BENCH_SECRETS_HIT_ITERATIONS', 20_000);
const MISS_ITERATIONS = positiveInt('BENCH_SECRETS_MISS_ITERATIONS', 5_000);
const REFERENCE_ITERATIONS = 100_000;
/**
 * The bench writes the service's buffered audit records every AUDIT_BATCH iterations, outside
 * the timed windows: one less than the buffer's own batch (AUDIT_INSERT_MAX_ROWS, 500, in
 * libs/secrets/src/audit/audit-insert.ts), so the batches have the size the service writes
 * and the service never starts one inside a measurement.
 */
const AUDIT_BATCH = 499;

/** A realistic secret: a 64-character API key (64 bytes of UTF-8). */
const NAME = 'payments/stripe-api-key';
const VALUE = `sk_live_${randomBytes(42).toString('base64url')}`;
/** The miss path's query, as SecretsStore.readCurrent sends it (placeholder per engine). */
const SELECT_CURRENT =
  'SELECT current_version, current_envelope, expires_at, deleted_at, recoverable_until FROM kms_secrets WHERE name = ';

interface CurrentRow {
  current_version: number | string;
  current_envelope: string;
}

/* ------------------------------------------------------------------------------------------ */

/** One engine's database, app and floors. */
interface Fixture {
  engine: Engine;
  app: INestApplicationContext;
  secrets: SecretsService;
  /** The secrets store's envelopes (format v2, purpose `secret`), which the miss floor opens. */
  secretValues: PurposeEnvelopes;
  /** The floor of a hit: what the cache holds, keyed by name, in a plain Map. */
  map: Map<string, { value: string; version: number; staleAt: number }>;
  /** The floor's SELECT through the engine's driver, bypassing TypeORM and the service. */
  selectRow(): CurrentRow | Promise<CurrentRow>;
  close(): Promise<void>;
}

/** The modules of the bench's application context, on `connection`. */
function appModules(connection: KmsConnectionOptions): ModuleImports {
  return [
    KmsModule.forRoot({ masterKey: randomBytes(32).toString('base64'), connection }),
    // Defaults, as a user gets them: 5-minute cache, buffered audit of every read.
    SecretsModule.forRoot(),
  ];
}

async function sqliteFixture(): Promise<Fixture> {
  const { database, remove } = createBenchSqliteFile();
  let app: INestApplicationContext | undefined;
  try {
    app = await startApp(appModules({ type: 'better-sqlite3', database }));
    const dataSource = await app.get(KmsStorage).dataSource();
    const db = rawSqliteConnection(dataSource);
    const statement = db.prepare<[string], CurrentRow>(`${SELECT_CURRENT}?`);
    const opened = app;
    return await buildFixture(
      'sqlite',
      app,
      () => statement.get(NAME) as CurrentRow,
      async () => {
        await opened.close();
        remove();
      },
    );
  } catch (error) {
    await app?.close();
    remove();
    throw error;
  }
}

async function postgresFixture(): Promise<Fixture | undefined> {
  const database = await createBenchDatabase();
  if (!database) return undefined;
  const { url, drop } = database;
  let app: INestApplicationContext | undefined;
  let pool: pg.Pool | undefined;
  try {
    app = await startApp(appModules({ type: 'postgres', url: url }));
    pool = new pg.Pool({ connectionString: url });
    const opened = { app, pool };
    const select = `${SELECT_CURRENT}$1`;
    return await buildFixture(
      'postgres',
      app,
      async () => (await opened.pool.query<CurrentRow>(select, [NAME])).rows[0],
      async () => {
        await opened.app.close();
        await opened.pool.end();
        await drop();
      },
    );
  } catch (error) {
    await app?.close();
    await pool?.end();
    await drop();
    throw error;
  }
}

async function buildFixture(
  engine: Engine,
  app: INestApplicationContext,
  selectRow: Fixture['selectRow'],
  close: () => Promise<void>,
): Promise<Fixture> {
  const secrets = app.get(SecretsService);
  const secretValues = purposeEnvelopes(app.get(KmsService), 'secret');
  await secrets.setSecret(NAME, VALUE, { description: 'benchmark' });
  const version = (await secrets.listSecretVersions(NAME))[0].version;
  const map = new Map([[NAME, { value: VALUE, version, staleAt: Date.now() + 300_000 }]]);
  const result: Fixture = { engine, app, secrets, secretValues, map, selectRow, close };
  // Every task's operation must give the value, or the figures below mean nothing.
  secrets.clearCache();
  expectValue(await secrets.getSecret(NAME), `${engine} getSecret (miss)`);
  expectValue(await secrets.getSecret(NAME), `${engine} getSecret (hit)`);
  expectValue(await floorMiss(result), `${engine} miss floor`);
  expectValue(floorHit(result), `${engine} hit floor`);
  return result;
}

function expectValue(actual: string | undefined, what: string): void {
  if (actual !== VALUE) throw new Error(`${what} did not return the secret's value`);
}

/** The floor of a hit: a bare Map lookup of the same name. */
function floorHit(fixture: Fixture): string | undefined {
  return fixture.map.get(NAME)?.value;
}

/** The floor of a miss: the same row by primary key, then one decryption of its envelope. */
async function floorMiss(fixture: Fixture): Promise<string> {
  const row = await fixture.selectRow();
  const version = Number(row.current_version);
  return fixture.secretValues.open(row.current_envelope, secretBinding(NAME, version));
}

/* ------------------------------------------------------------------------------------------ */

interface Row {
  case: Case | 'reference';
  engine: Engine | '-';
  implementation: string;
  opsPerSecond: number[];
  p50Ms: number[];
  p99Ms: number[];
  samples: number[];
}

const sink: unknown[] = [undefined];

/** Audit records the bench had the service write, outside the timed windows, per engine. */
const auditWrites: Record<Engine, { ms: number; cpuUs: number; records: number }> = {
  sqlite: { ms: 0, cpuUs: 0, records: 0 },
  postgres: { ms: 0, cpuUs: 0, records: 0 },
};

/** The miss tasks' clearCache() calls, timed where they run (beforeEach, outside the window). */
const clearCacheCost: Record<Engine, { ms: number; calls: number }> = {
  sqlite: { ms: 0, calls: 0 },
  postgres: { ms: 0, calls: 0 },
};

/**
 * Writes the service's buffered audit records now and waits for them: the service's shutdown
 * hook does exactly that (SecretsAudit.flush) and the service keeps working after it.
 */
async function drainAudit(fixture: Fixture, records: number): Promise<void> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  await fixture.secrets.beforeApplicationShutdown();
  if (records > 0) {
    const used = process.cpuUsage(cpu);
    auditWrites[fixture.engine].ms += performance.now() - started;
    auditWrites[fixture.engine].cpuUs += used.user + used.system;
    auditWrites[fixture.engine].records += records;
  }
}

/**
 * The hooks of every task (floor or getSecret alike, so the harness does the same around
 * each): none of them runs inside tinybench's timed window, which is the task function alone.
 *
 * - beforeEach: the miss task clears the cache, timed there on its own (clearCacheCost).
 * - afterEach: every AUDIT_BATCH iterations, the buffered audit records are written (timed
 *   separately, see auditWrites), so no task measures the library's own batched write.
 * - beforeAll / afterAll: cache counters around the phase (warm-up or run): a hit task must
 *   hit on every iteration, a miss task miss on every one, a floor never touch the service.
 */
function hooks(fixture: Fixture, kase: Case, implementation: Implementation) {
  const { secrets } = fixture;
  const library = implementation === 'secrets';
  let iterations = 0;
  let hits = 0;
  let misses = 0;
  return {
    beforeAll: async () => {
      // A hit task starts from a warm cache, whatever ran before it.
      if (kase === 'hit' && library) expectValue(await secrets.getSecret(NAME), 'priming read');
      await drainAudit(fixture, 0);
      const status = await secrets.getStatus();
      hits = status.cacheHits;
      misses = status.cacheMisses;
      iterations = 0;
    },
    beforeEach: () => {
      if (kase === 'miss' && library) {
        const started = performance.now();
        secrets.clearCache();
        clearCacheCost[fixture.engine].ms += performance.now() - started;
        clearCacheCost[fixture.engine].calls++;
      }
    },
    afterEach: async () => {
      iterations++;
      if (iterations % AUDIT_BATCH === 0) await drainAudit(fixture, library ? AUDIT_BATCH : 0);
    },
    afterAll: async () => {
      await drainAudit(fixture, library ? iterations % AUDIT_BATCH : 0);
      const status = await secrets.getStatus();
      const hitDelta = status.cacheHits - hits;
      const missDelta = status.cacheMisses - misses;
      const expected = !library ? [0, 0] : kase === 'hit' ? [iterations, 0] : [0, iterations];
      if (hitDelta !== expected[0] || missDelta !== expected[1]) {
        throw new Error(
          `${fixture.engine} ${kase} ${implementation}: ${hitDelta} cache hits and ${missDelta} misses in ${iterations} iterations (expected ${expected[0]} and ${expected[1]})`,
        );
      }
    },
  };
}

/** One Bench per engine and case: its floor, then getSecret, back to back. */
async function runPair(rows: Map<string, Row>, fixture: Fixture, kase: Case): Promise<void> {
  const iterations = kase === 'hit' ? HIT_ITERATIONS : MISS_ITERATIONS;
  const bench = new Bench({
    name: `${kase} ${fixture.engine}`,
    // Fixed iteration counts, not a time budget: every getSecret writes an audit record, and
    // writing them costs far more than a hit (see the audit line of the report).
    time: 0,
    iterations,
    warmupTime: 0,
    // Half as many again, at least 1,000: with fewer, the first few hundred timed hits still ran
    // before V8 had settled (every third one ~13 µs), which moved the mean, not the median.
    warmupIterations: Math.max(1_000, Math.round(iterations / 2)),
    throws: true,
  });
  const { secrets } = fixture;
  bench.add(
    taskName(kase, fixture.engine, 'floor'),
    kase === 'hit'
      ? // async, like the getSecret task: both pay for one promise and one await per iteration.
        async () => {
          sink[0] = floorHit(fixture);
        }
      : async () => {
          sink[0] = await floorMiss(fixture);
        },
    { async: true, ...hooks(fixture, kase, 'floor') },
  );
  bench.add(
    taskName(kase, fixture.engine, 'secrets'),
    async () => {
      sink[0] = await secrets.getSecret(NAME);
    },
    { async: true, ...hooks(fixture, kase, 'secrets') },
  );
  for (const task of await bench.run()) record(rows, task);
}

/** A synchronous Map lookup: what tinybench's async path adds to the hit floor. */
async function runReferences(rows: Map<string, Row>, fixture: Fixture): Promise<void> {
  const bench = new Bench({
    name: 'references',
    time: 0,
    iterations: REFERENCE_ITERATIONS,
    warmupTime: 0,
    warmupIterations: REFERENCE_ITERATIONS / 10,
    throws: true,
  });
  bench.add(
    taskName('reference', '-', 'Map.get, sync task'),
    () => {
      sink[0] = floorHit(fixture);
    },
    { async: false },
  );
  for (const task of await bench.run()) record(rows, task);
}

async function main(): Promise<void> {
  process.stdout.write('\nSecretsService.getSecret: cache hit and miss against their floors\n');
  printMachine(
    `secret: "${NAME}", a ${Buffer.byteLength(VALUE)}-byte value; SecretsModule defaults (5-minute cache, buffered audit)`,
  );
  const fixtures: Fixture[] = [];
  try {
    fixtures.push(await sqliteFixture());
    const postgres = await postgresFixture();
    if (postgres) fixtures.push(postgres);

    const rows = new Map<string, Row>();
    for (let round = 1; round <= ROUNDS; round++) {
      const started = performance.now();
      for (const fixture of fixtures) {
        await runPair(rows, fixture, 'hit');
        await runPair(rows, fixture, 'miss');
      }
      await runReferences(rows, fixtures[0]);
      process.stdout.write(
        `round ${round}/${ROUNDS} done in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
      );
    }
    printTable(
      rows,
      fixtures.map((f) => f.engine),
    );
  } finally {
    for (const fixture of fixtures) await fixture.close();
  }
}

function taskName(kase: Row['case'], engine: Row['engine'], implementation: string): string {
  return `${kase}|${engine}|${implementation}`;
}

function record(rows: Map<string, Row>, task: Task): void {
  const result = completedResult(task);
  const [kase, engine, implementation] = task.name.split('|') as [Case, Engine, string];
  let row = rows.get(task.name);
  if (row === undefined) {
    row = {
      case: kase,
      engine,
      implementation,
      opsPerSecond: [],
      p50Ms: [],
      p99Ms: [],
      samples: [],
    };
    rows.set(task.name, row);
  }
  row.opsPerSecond.push(1000 / result.period);
  row.p50Ms.push(result.latency.p50);
  row.p99Ms.push(result.latency.p99);
  row.samples.push(result.latency.samplesCount);
}

function printTable(rows: Map<string, Row>, engines: Engine[]): void {
  const header = [
    'case',
    'engine',
    'impl',
    'ops/s',
    '× floor',
    '× min–max',
    'p50 × floor',
    'p50 µs',
    'p99 µs',
    'ops/s per round',
  ];
  const lines: string[][] = [];
  const verdicts: string[] = [];
  const withAudit: string[] = [];
  for (const kase of ['hit', 'miss'] as const) {
    for (const engine of engines) {
      const floor = rows.get(taskName(kase, engine, 'floor'));
      const lib = rows.get(taskName(kase, engine, 'secrets'));
      if (floor === undefined || lib === undefined) continue;
      // Per round (floor and getSecret back to back): floor ops/s ÷ getSecret ops/s, i.e. how
      // many times the floor's mean time getSecret takes; then the median of the rounds.
      const ratios = lib.opsPerSecond.map((ops, i) => floor.opsPerSecond[i] / ops);
      const ratio = median(ratios);
      const p50Ratio = median(lib.p50Ms) / median(floor.p50Ms);
      for (const row of [floor, lib]) {
        const isLib = row === lib;
        lines.push([
          kase,
          engine,
          isLib ? 'getSecret' : kase === 'hit' ? 'floor: Map.get' : 'floor: SELECT + decrypt',
          formatOps(median(row.opsPerSecond)),
          isLib ? `${ratio.toFixed(2)}×` : '1×',
          isLib ? `${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}×` : '',
          isLib ? `${p50Ratio.toFixed(2)}×` : '',
          formatUs(median(row.p50Ms)),
          formatUs(median(row.p99Ms)),
          row.opsPerSecond.map(formatOps).join(' / '),
        ]);
      }
      const target = TARGETS[kase][engine];
      verdicts.push(
        `${kase} on ${engine}: ${ratio.toFixed(2)}× the floor (target ≤ ${target}×): ${verdict(ratio <= target)}; by p50 ${p50Ratio.toFixed(2)}×`,
      );
      if (kase === 'hit') {
        verdicts.push(
          `hit on ${engine}: p50 ${p50Ratio.toFixed(2)}× the floor's p50 (target ≤ ${target}×): ${verdict(p50Ratio <= target)}`,
        );
        const p50Us = median(lib.p50Ms) * 1000;
        verdicts.push(
          `hit on ${engine}: p50 ${p50Us.toFixed(2)} µs (target < ${HIT_P50_US} µs): ${verdict(p50Us < HIT_P50_US)}`,
        );
      }
      const audit = auditWrites[engine];
      if (audit.records > 0) {
        const auditUs = (audit.ms * 1000) / audit.records;
        const libUs = 1e6 / median(lib.opsPerSecond);
        const floorUs = 1e6 / median(floor.opsPerSecond);
        withAudit.push(
          `${kase} on ${engine}: ${libUs.toFixed(2)} + ${auditUs.toFixed(2)} = ${(libUs + auditUs).toFixed(2)} µs per read, ${((libUs + auditUs) / floorUs).toFixed(1)}× the floor's ${floorUs.toFixed(2)} µs`,
        );
      }
    }
  }
  for (const row of rows.values()) {
    if (row.case !== 'reference') continue;
    lines.push([
      'reference',
      '-',
      row.implementation,
      formatOps(median(row.opsPerSecond)),
      '',
      '',
      '',
      formatUs(median(row.p50Ms)),
      formatUs(median(row.p99Ms)),
      row.opsPerSecond.map(formatOps).join(' / '),
    ]);
  }
  process.stdout.write(
    [
      '',
      `median of ${ROUNDS} round(s); per round ${HIT_ITERATIONS} iterations per hit task, ${MISS_ITERATIONS} per miss task (+50 % warm-up)`,
      'ops/s = iterations ÷ measured time (1 / mean latency); × floor = floor ops/s ÷ getSecret ops/s',
      '(how many times the floor’s mean time getSecret takes) per round, then the median (min–max',
      'over rounds); p50 × floor = getSecret p50 ÷ floor p50',
      '',
      '',
    ].join('\n'),
  );
  process.stdout.write(alignedTable(header, lines, [3, 4, 5, 6, 7, 8]));
  process.stdout.write(`\ntargets (getSecret as timed above):\n${verdicts.join('\n')}\n`);
  const auditLines = engines
    .filter((engine) => auditWrites[engine].records > 0)
    .map((engine) => {
      const { ms, cpuUs, records } = auditWrites[engine];
      return `${engine}: ${((ms * 1000) / records).toFixed(2)} µs per record, of which this process's CPU ${(cpuUs / records).toFixed(2)} µs (${records} records, ${(ms / 1000).toFixed(1)} s)`;
    });
  process.stdout.write(
    [
      '',
      `every getSecret also buffers one audit record; writing them (SecretsAudit.flush, batches of ${AUDIT_BATCH}, outside the timed windows) cost:`,
      ...auditLines,
      'getSecret mean + its audit write, against the floor (no target; what a sustained stream of reads costs):',
      ...withAudit,
      '',
    ].join('\n'),
  );
  for (const engine of engines) {
    const { ms, calls } = clearCacheCost[engine];
    const missRow = rows.get(taskName('miss', engine, 'secrets'));
    if (calls === 0 || missRow === undefined) continue;
    const clearUs = (ms * 1000) / calls;
    const missUs = 1e6 / median(missRow.opsPerSecond);
    process.stdout.write(
      `clearCache() before each ${engine} miss (outside the timed window): ${clearUs.toFixed(2)} µs mean over ${calls} calls, ${((clearUs / missUs) * 100).toFixed(1)} % of the miss's mean\n`,
    );
  }
}

function verdict(met: boolean): string {
  return met ? 'MET' : 'NOT MET';
}

function formatUs(ms: number): string {
  return (ms * 1000).toFixed(2);
}

await main();
