/**
 * @EncryptedColumn against plain columns: save and load of 1,000 entities, on SQLite and on
 * Postgres, in the same database, the same process and the same round:
 *
 *   plain     — BenchPlainProfile: uuid primary key, userId varchar, ssn text, bankAccount
 *               simple-json (a text column holding JSON.stringify of the object).
 *   encrypted — BenchEncryptedProfile: the same, with ssn as
 *               `@EncryptedColumn({ type: 'string', aad: (row) => ({ userId: row.userId }) })` and
 *               bankAccount as `@EncryptedColumn({ type: 'json' })`: two envelopes per row,
 *               sealed in the KMS subscriber's beforeInsert and opened in its afterLoad.
 *
 *   save — `await repository.save(entities)`: one call with 1,000 new entities (fresh instances,
 *          no primary key yet), the table emptied with `repository.clear()` before every
 *          iteration, outside the timed window.
 *   load — `await repository.find()`: the table's 1,000 rows (saved once through the library
 *          before the task), every column.
 *
 * Beside them, once per round, a reference: the raw node:crypto AES-256-GCM work alone for the
 * same 2,000 values (seal: `randomBytes(12)` IV, createCipheriv … getAuthTag; open:
 * createDecipheriv … final), authenticating as many AAD bytes as the library's envelopes do. Plain
 * time + that is what any encrypted column sealing each value on its own would take at best, so
 * the report prints that ratio too: how much of the gap is the cipher and how much the library.
 *
 *   npm run bench          (builds with `nest build bench`, runs the other benches, then this)
 *   BENCH_COLUMNS_ROUNDS=7 BENCH_COLUMNS_SAVE_ITERATIONS=20 BENCH_COLUMNS_LOAD_ITERATIONS=100 npm run bench
 *                          (defaults: 5 rounds; per task and round 10 timed saves or 50 timed
 *                          loads, each task after half as many warm-up iterations, at least 3)
 *   BENCH_COLUMNS_ENTITIES=1000                         (entities per save / load; default 1,000)
 *   BENCH_PG_URL=postgres://user@host:5432/db           (default: postgres://postgres@127.0.0.1:5432/test)
 *
 * The app is wired as an application uses encrypted columns: TypeOrmModule.forRoot with the
 * bench's two entities and KMS_ENTITIES (schema synchronised), KmsModule.forRoot on that
 * DataSource ('default'). On Postgres a fresh database is created for the run and dropped
 * afterwards (BENCH_PG_URL names the database to connect to for that). When Postgres does not
 * answer, its rows are skipped with a notice, unless BENCH_REQUIRE_PG=1.
 *
 * Not a test: nothing here asserts on time. Outside the timed windows the bench checks that
 * every save stored all the rows and left the plaintext in the saved entities, that every load
 * returned all the rows with the values written, and (once per engine) that the encrypted table
 * holds envelopes and the plain one plaintext, so a broken build cannot produce a flattering
 * number.
 */
import 'reflect-metadata';
import type { INestApplicationContext } from '@nestjs/common';
import { TypeOrmModule, getDataSourceToken } from '@nestjs/typeorm';
import { randomBytes, randomInt } from 'node:crypto';
import { Bench, type Task } from 'tinybench';
import { Column, Entity, PrimaryGeneratedColumn, type DataSource, type Repository } from 'typeorm';
import {
  alignedTable,
  completedResult,
  createBenchDatabase,
  createBenchSqliteFile,
  envelopeHeaderBytes,
  formatOps,
  median,
  type ModuleImports,
  positiveInt,
  printMachine,
  rawGcmOpen,
  rawGcmSeal,
  type RawGcmSealed,
  startApp,
} from './bench-support.js';
import {
  EncryptedColumn,
  KMS_ENTITIES,
  KmsModule,
  KmsService,
  type KmsConnectionOptions,
} from '@nest-kms/kms';

type Engine = 'sqlite' | 'postgres';
type Operation = 'save' | 'load';
type Implementation = 'plain' | 'encrypted';
/** The raw AES-GCM reference: engine-independent, measured once per round. */
const RAW = 'raw AES-GCM';

/** The target we hold encrypted columns to: encrypted time at most this many times plain time, on SQLite. */
const TARGET = 1.3;
const TARGET_ENGINE: Engine = 'sqlite';

const ROUNDS = positiveInt('BENCH_COLUMNS_ROUNDS', 5);
/** Timed iterations per task and round; a load is ~10× cheaper than a save, so it runs more. */
const ITERATIONS: Record<Operation, number> = {
  save: positiveInt('BENCH_COLUMNS_SAVE_ITERATIONS', 10),
  load: positiveInt('BENCH_COLUMNS_LOAD_ITERATIONS', 50),
};
const warmupIterations = (operation: Operation): number =>
  Math.max(3, Math.round(ITERATIONS[operation] / 2));
const ENTITIES = positiveInt('BENCH_COLUMNS_ENTITIES', 1_000);

/* ------------------------------------------------------------------------------------------ */
/* The two entities: the same columns, two of them plain in one and encrypted in the other.    */
/* ------------------------------------------------------------------------------------------ */

interface BankAccount {
  iban: string;
  bic: string;
}

@Entity({ name: 'bench_plain_profiles' })
class BenchPlainProfile {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'varchar', length: 64 })
  userId: string;

  @Column({ type: 'text' })
  ssn: string;

  @Column({ type: 'simple-json' })
  bankAccount: BankAccount;
}

@Entity({ name: 'bench_encrypted_profiles' })
class BenchEncryptedProfile {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'varchar', length: 64 })
  userId: string;

  @EncryptedColumn<BenchEncryptedProfile>({
    type: 'string',
    aad: (row) => ({ userId: row.userId }),
  })
  ssn: string;

  @EncryptedColumn({ type: 'json' })
  bankAccount: BankAccount;
}

type Profile = BenchPlainProfile | BenchEncryptedProfile;

/** What one entity holds: a user id, an 11-character SSN, an IBAN and BIC (JSON ≈ 50 bytes). */
interface ProfileData {
  userId: string;
  ssn: string;
  bankAccount: BankAccount;
}

function makeProfiles(count: number): ProfileData[] {
  const digits = (n: number): string =>
    Array.from({ length: n }, () => String(randomInt(10))).join('');
  return Array.from({ length: count }, (_, i) => ({
    userId: `user-${String(i).padStart(6, '0')}`,
    ssn: `${digits(3)}-${digits(2)}-${digits(4)}`,
    bankAccount: { iban: `DE${digits(20)}`, bic: 'COBADEFFXXX' },
  }));
}

/* ------------------------------------------------------------------------------------------ */

/** One engine's database and app. */
interface Fixture {
  readonly engine: Engine;
  readonly app: INestApplicationContext;
  readonly dataSource: DataSource;
  readonly repositories: {
    readonly plain: Repository<BenchPlainProfile>;
    readonly encrypted: Repository<BenchEncryptedProfile>;
  };
  close(): Promise<void>;
}

const ENTITY: { plain: typeof BenchPlainProfile; encrypted: typeof BenchEncryptedProfile } = {
  plain: BenchPlainProfile,
  encrypted: BenchEncryptedProfile,
};

/** The modules of the bench's application context, on `connection`. */
function appModules(connection: KmsConnectionOptions): ModuleImports {
  return [
    TypeOrmModule.forRoot({
      ...connection,
      entities: [...KMS_ENTITIES, BenchPlainProfile, BenchEncryptedProfile],
      synchronize: true,
    } as Parameters<typeof TypeOrmModule.forRoot>[0]),
    KmsModule.forRoot({
      masterKey: randomBytes(32).toString('base64'),
      dataSource: 'default',
      // No lifecycle timer: its checks (and their queries) stay out of the timed windows.
      rotation: { checkIntervalMs: 0 },
      reencryption: { auto: false },
    }),
  ];
}

async function buildFixture(
  engine: Engine,
  connection: KmsConnectionOptions,
  cleanUp: () => Promise<void> | void,
): Promise<Fixture> {
  let app: INestApplicationContext | undefined;
  try {
    app = await startApp(appModules(connection));
    const dataSource = app.get<DataSource>(getDataSourceToken());
    const opened = app;
    return {
      engine,
      app,
      dataSource,
      repositories: {
        plain: dataSource.getRepository(BenchPlainProfile),
        encrypted: dataSource.getRepository(BenchEncryptedProfile),
      },
      close: async () => {
        await opened.close();
        await cleanUp();
      },
    };
  } catch (error) {
    await app?.close();
    await cleanUp();
    throw error;
  }
}

async function sqliteFixture(): Promise<Fixture> {
  const { database, remove } = createBenchSqliteFile();
  return buildFixture('sqlite', { type: 'better-sqlite3', database }, remove);
}

async function postgresFixture(): Promise<Fixture | undefined> {
  const database = await createBenchDatabase();
  if (!database) return undefined;
  return buildFixture('postgres', { type: 'postgres', url: database.url }, database.drop);
}

/* ------------------------------------------------------------------------------------------ */
/* Checks, all outside the timed windows.                                                       */
/* ------------------------------------------------------------------------------------------ */

/** Fresh instances of `implementation`'s entity holding `data`, without a primary key. */
function build(implementation: Implementation, data: readonly ProfileData[]): Profile[] {
  return data.map((row) =>
    Object.assign(new ENTITY[implementation](), {
      userId: row.userId,
      ssn: row.ssn,
      bankAccount: { ...row.bankAccount },
    }),
  );
}

/** After a save: every entity got a key and still holds its plaintext; the table all rows. */
async function checkSaved(
  fixture: Fixture,
  implementation: Implementation,
  saved: readonly Profile[],
  data: readonly ProfileData[],
): Promise<void> {
  const what = `${fixture.engine} save ${implementation}`;
  saved.forEach((entity, i) => {
    if (typeof entity.id !== 'string' || entity.id.length !== 36 || !sameValues(entity, data[i])) {
      throw new Error(`${what}: entity ${i} has no key or not the values it was saved with`);
    }
  });
  const count = await fixture.repositories[implementation].count();
  if (count !== data.length) {
    throw new Error(`${what}: ${count} rows stored (expected ${data.length})`);
  }
}

/** After a load: all rows, each with the values written under its key. */
function checkLoaded(
  fixture: Fixture,
  implementation: Implementation,
  loaded: readonly Profile[] | undefined,
  written: ReadonlyMap<string, ProfileData>,
): void {
  const what = `${fixture.engine} load ${implementation}`;
  if (loaded?.length !== written.size) {
    throw new Error(`${what}: ${loaded?.length} rows loaded (expected ${written.size})`);
  }
  for (const entity of loaded) {
    const expected = written.get(entity.id);
    if (expected === undefined || !sameValues(entity, expected)) {
      throw new Error(`${what}: row ${entity.id} did not load the values written`);
    }
  }
}

function sameValues(entity: Profile, data: ProfileData): boolean {
  return (
    entity.userId === data.userId &&
    entity.ssn === data.ssn &&
    entity.bankAccount?.iban === data.bankAccount.iban &&
    entity.bankAccount?.bic === data.bankAccount.bic
  );
}

/** Once per engine: the encrypted table stores envelopes, the plain one the plaintext. */
async function checkStoredForms(fixture: Fixture, data: readonly ProfileData[]): Promise<void> {
  const { dataSource, repositories } = fixture;
  for (const implementation of ['plain', 'encrypted'] as const) {
    const repository = repositories[implementation];
    await repository.clear();
    await repository.save(build(implementation, data));
    const rows = (await dataSource.query(
      `SELECT "userId", "ssn", "bankAccount" FROM "${repository.metadata.tableName}"`,
    )) as { userId: string; ssn: string; bankAccount: string }[];
    const byUser = new Map(data.map((row) => [row.userId, row]));
    for (const row of rows) {
      const expected = byUser.get(row.userId)!;
      const ok =
        implementation === 'plain'
          ? row.ssn === expected.ssn && row.bankAccount === JSON.stringify(expected.bankAccount)
          : row.ssn.startsWith('kms2.column.') &&
            row.bankAccount.startsWith('kms2.column.') &&
            !row.ssn.includes(expected.ssn) &&
            !row.bankAccount.includes(expected.bankAccount.iban);
      if (!ok) {
        throw new Error(
          `${fixture.engine} ${implementation}: row of ${row.userId} is not stored as expected`,
        );
      }
    }
    if (rows.length !== data.length) {
      throw new Error(`${fixture.engine} ${implementation}: ${rows.length} rows stored`);
    }
  }
}

/* ------------------------------------------------------------------------------------------ */
/* The reference: what sealing / opening the same values costs in node:crypto alone.            */
/* ------------------------------------------------------------------------------------------ */

/** The two values of every entity, as the library encrypts them, with AADs of its sizes. */
interface RawValue {
  plaintext: Buffer;
  aad: Buffer;
  sealed: RawGcmSealed;
}

/**
 * Bytes of the GCM additional data of one of the library's column envelopes: the envelope
 * header and the row binding, encoded as encodeAad encodes a map (a type byte, then per entry
 * two length-prefixed UTF-8 strings).
 */
function envelopeAadBytes(keyId: string, binding: Record<string, string>): number {
  let bindingBytes = 1;
  for (const [key, value] of Object.entries(binding)) {
    bindingBytes += 8 + Buffer.byteLength(key) + Buffer.byteLength(value);
  }
  // The header (format v2: the column purpose in it), then the AAD's u32 length, then the AAD.
  return envelopeHeaderBytes(keyId, 'column') + 4 + bindingBytes;
}

function rawValues(
  keyId: string,
  data: readonly ProfileData[],
): { key: Buffer; values: RawValue[] } {
  const key = randomBytes(32);
  const table = 'bench_encrypted_profiles';
  // A uuid: the row's primary key, which every value's binding holds.
  const row = '00000000-0000-4000-8000-000000000000';
  const values: RawValue[] = [];
  for (const profile of data) {
    const bindings: [Buffer, Record<string, string>][] = [
      [
        Buffer.from(profile.ssn, 'utf8'),
        { userId: profile.userId, 'kms.table': table, 'kms.column': 'ssn', 'kms.row': row },
      ],
      [
        Buffer.from(JSON.stringify(profile.bankAccount), 'utf8'),
        { 'kms.table': table, 'kms.column': 'bankAccount', 'kms.row': row },
      ],
    ];
    for (const [plaintext, binding] of bindings) {
      const aad = randomBytes(envelopeAadBytes(keyId, binding));
      const sealed = rawGcmSeal(key, plaintext, aad);
      if (!rawGcmOpen(key, sealed, aad).equals(plaintext)) throw new Error('raw round trip failed');
      values.push({ plaintext, aad, sealed });
    }
  }
  return { key, values };
}

/* ------------------------------------------------------------------------------------------ */

interface Row {
  operation: Operation;
  engine: Engine | '-';
  implementation: Implementation | typeof RAW;
  /** Per round: mean ms of one save / load of all the entities. */
  meanMs: number[];
  p50Ms: number[];
  maxMs: number[];
}

const sink: unknown[] = [undefined];

/** One save task: the table emptied and fresh entities built before each iteration. */
function addSave(
  bench: Bench,
  fixture: Fixture,
  implementation: Implementation,
  data: readonly ProfileData[],
): void {
  const repository = fixture.repositories[implementation] as Repository<Profile>;
  let batch: Profile[] = [];
  bench.add(
    taskName('save', fixture.engine, implementation),
    async () => {
      sink[0] = await repository.save(batch);
    },
    {
      async: true,
      beforeEach: async () => {
        await repository.clear();
        batch = build(implementation, data);
      },
      afterEach: async () => {
        await checkSaved(fixture, implementation, batch, data);
      },
    },
  );
}

/** One load task: the table holds `data`, saved through the library before the phase. */
function addLoad(
  bench: Bench,
  fixture: Fixture,
  implementation: Implementation,
  data: readonly ProfileData[],
): void {
  const repository = fixture.repositories[implementation] as Repository<Profile>;
  const written = new Map<string, ProfileData>();
  let loaded: Profile[] | undefined;
  bench.add(
    taskName('load', fixture.engine, implementation),
    async () => {
      loaded = await repository.find();
    },
    {
      async: true,
      beforeAll: async () => {
        await repository.clear();
        const saved = await repository.save(build(implementation, data));
        written.clear();
        saved.forEach((entity, i) => written.set(entity.id, data[i]));
      },
      afterEach: () => {
        checkLoaded(fixture, implementation, loaded, written);
        sink[0] = loaded;
        loaded = undefined;
      },
    },
  );
}

/** One Bench per engine and operation: plain and encrypted back to back, order per round. */
async function runPair(
  rows: Map<string, Row>,
  fixture: Fixture,
  operation: Operation,
  order: readonly Implementation[],
  data: readonly ProfileData[],
): Promise<void> {
  const bench = new Bench({
    name: `${operation} ${fixture.engine}`,
    // Fixed iteration counts: one iteration is a whole save or load of all the entities.
    time: 0,
    iterations: ITERATIONS[operation],
    warmupTime: 0,
    warmupIterations: warmupIterations(operation),
    throws: true,
  });
  for (const implementation of order) {
    if (operation === 'save') addSave(bench, fixture, implementation, data);
    else addLoad(bench, fixture, implementation, data);
  }
  for (const task of await bench.run()) record(rows, task);
}

/** The reference, once per round: 2 × ENTITIES raw seals, then 2 × ENTITIES raw opens. */
async function runReference(
  rows: Map<string, Row>,
  raw: { key: Buffer; values: readonly RawValue[] },
): Promise<void> {
  const { key, values } = raw;
  const work: Record<Operation, () => void> = {
    save: () => {
      const sealed: RawGcmSealed[] = [];
      for (const value of values) sealed.push(rawGcmSeal(key, value.plaintext, value.aad));
      sink[0] = sealed;
    },
    load: () => {
      const opened: Buffer[] = [];
      for (const value of values) opened.push(rawGcmOpen(key, value.sealed, value.aad));
      sink[0] = opened;
    },
  };
  for (const operation of ['save', 'load'] as const) {
    const bench = new Bench({
      name: `${RAW} ${operation}`,
      time: 0,
      iterations: ITERATIONS[operation],
      warmupTime: 0,
      warmupIterations: warmupIterations(operation),
      throws: true,
    });
    bench.add(taskName(operation, '-', RAW), work[operation], { async: false });
    for (const task of await bench.run()) record(rows, task);
  }
}

async function main(): Promise<void> {
  process.stdout.write('\nEncrypted columns: save and load against the same plain columns\n');
  printMachine(
    `${ENTITIES.toLocaleString('en-US')} entities per save / load; 2 encrypted columns (ssn: 11-character string, aad { userId }; bankAccount: JSON, ~50 B) against text + simple-json; ${ROUNDS} round(s) × ${ITERATIONS.save} saves / ${ITERATIONS.load} loads per task (+${warmupIterations('save')} / ${warmupIterations('load')} warm-up)`,
  );
  const data = makeProfiles(ENTITIES);
  const fixtures: Fixture[] = [];
  try {
    fixtures.push(await sqliteFixture());
    const postgres = await postgresFixture();
    if (postgres) fixtures.push(postgres);
    for (const fixture of fixtures) await checkStoredForms(fixture, data);
    const keyId = fixtures[0].app.get(KmsService).getStatus().activeKeyId;
    if (keyId === null) throw new Error('KmsService did not initialize');
    const raw = rawValues(keyId, data);

    const rows = new Map<string, Row>();
    for (let round = 1; round <= ROUNDS; round++) {
      const started = performance.now();
      // Plain first in odd rounds, encrypted first in even ones: neither always runs second.
      const order: Implementation[] =
        round % 2 === 1 ? ['plain', 'encrypted'] : ['encrypted', 'plain'];
      for (const fixture of fixtures) {
        await runPair(rows, fixture, 'save', order, data);
        await runPair(rows, fixture, 'load', order, data);
      }
      await runReference(rows, raw);
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

function taskName(
  operation: Operation,
  engine: Row['engine'],
  implementation: Row['implementation'],
): string {
  return `${operation}|${engine}|${implementation}`;
}

function record(rows: Map<string, Row>, task: Task): void {
  const result = completedResult(task);
  const [operation, engine, implementation] = task.name.split('|') as [
    Operation,
    Row['engine'],
    Row['implementation'],
  ];
  let row = rows.get(task.name);
  if (row === undefined) {
    row = { operation, engine, implementation, meanMs: [], p50Ms: [], maxMs: [] };
    rows.set(task.name, row);
  }
  row.meanMs.push(result.period);
  row.p50Ms.push(result.latency.p50);
  row.maxMs.push(result.latency.max);
}

function printTable(rows: Map<string, Row>, engines: readonly Engine[]): void {
  const header = [
    'operation',
    'engine',
    'impl',
    'ms per 1,000',
    'entities/s',
    '× plain',
    '× min–max',
    'p50 × plain',
    'p50 ms',
    'max ms',
    'ms per 1,000 per round',
  ];
  const lines: string[][] = [];
  const verdicts: string[] = [];
  const per1000 = (ms: number): number => (ms * 1000) / ENTITIES;
  const values = 2 * ENTITIES;
  const range = (ratios: number[]): string =>
    `${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}×`;
  for (const operation of ['save', 'load'] as const) {
    const raw = rows.get(taskName(operation, '-', RAW));
    for (const engine of engines) {
      const plain = rows.get(taskName(operation, engine, 'plain'));
      const encrypted = rows.get(taskName(operation, engine, 'encrypted'));
      if (plain === undefined || encrypted === undefined || raw === undefined) continue;
      // Per round (all measured in the same round): mean ÷ plain mean, then the median.
      const ratios = encrypted.meanMs.map((ms, i) => ms / plain.meanMs[i]);
      const ratio = median(ratios);
      const p50Ratio = median(encrypted.p50Ms) / median(plain.p50Ms);
      const floorMs = plain.meanMs.map((ms, i) => ms + raw.meanMs[i]);
      const floorRatios = floorMs.map((ms, i) => ms / plain.meanMs[i]);
      const floorP50 = median(plain.p50Ms) + median(raw.p50Ms);
      lines.push(
        line(
          operation,
          engine,
          'plain',
          plain.meanMs,
          '1×',
          '',
          '',
          median(plain.p50Ms),
          median(plain.maxMs),
        ),
        line(
          operation,
          engine,
          `plain + ${RAW}`,
          floorMs,
          `${median(floorRatios).toFixed(2)}×`,
          range(floorRatios),
          `${(floorP50 / median(plain.p50Ms)).toFixed(2)}×`,
          floorP50,
          undefined,
        ),
        line(
          operation,
          engine,
          'encrypted',
          encrypted.meanMs,
          `${ratio.toFixed(2)}×`,
          range(ratios),
          `${p50Ratio.toFixed(2)}×`,
          median(encrypted.p50Ms),
          median(encrypted.maxMs),
        ),
      );
      // What each encrypted value adds, from the medians: (encrypted − plain) ÷ values.
      const extraUs = ((median(encrypted.meanMs) - median(plain.meanMs)) * 1000) / values;
      const rawUs = (median(raw.meanMs) * 1000) / values;
      const target =
        engine === TARGET_ENGINE
          ? `(target ≤ ${TARGET}×): ${ratio <= TARGET ? 'MET' : 'NOT MET'}`
          : `(no target on ${engine}; ${TARGET}× is the SQLite one)`;
      verdicts.push(
        `${operation} on ${engine}: encrypted ${ratio.toFixed(2)}× plain ${target}; by p50 ${p50Ratio.toFixed(2)}×; plain + ${RAW} alone ${median(floorRatios).toFixed(2)}×; ${extraUs.toFixed(1)} µs more per encrypted value, of which ${RAW} ${rawUs.toFixed(1)} µs`,
      );
    }
  }
  for (const operation of ['save', 'load'] as const) {
    const raw = rows.get(taskName(operation, '-', RAW));
    if (raw === undefined) continue;
    lines.push(
      line(
        operation,
        '-',
        `${RAW} ${operation === 'save' ? 'seal' : 'open'} × ${values.toLocaleString('en-US')}`,
        raw.meanMs,
        '',
        '',
        '',
        median(raw.p50Ms),
        median(raw.maxMs),
      ),
    );
  }
  process.stdout.write(
    [
      '',
      `median of ${ROUNDS} round(s); per round and task ${ITERATIONS.save} saves / ${ITERATIONS.load} loads (+${warmupIterations('save')} / ${warmupIterations('load')} warm-up); one iteration = one`,
      `repository.save() of ${ENTITIES.toLocaleString('en-US')} new entities or one repository.find() of ${ENTITIES.toLocaleString('en-US')} rows; ms per 1,000 = mean`,
      'time of one iteration scaled to 1,000 entities; × plain = mean ÷ plain mean per round (all in',
      'the same round), then the median (min–max over rounds); p50 × plain = p50 ÷ plain p50 (medians',
      `over rounds); plain + ${RAW} = plain time + the raw node:crypto work for the same ${values.toLocaleString('en-US')} values`,
      '(computed per round from the reference rows at the end)',
      '',
      '',
    ].join('\n'),
  );
  process.stdout.write(alignedTable(header, lines, [3, 4, 5, 6, 7, 8, 9]));
  process.stdout.write(`\n${verdicts.join('\n')}\n`);

  function line(
    operation: Operation,
    engine: Row['engine'],
    label: string,
    meanMs: readonly number[],
    ratio: string,
    ratioRange: string,
    p50Ratio: string,
    p50Ms: number,
    maxMs: number | undefined,
  ): string[] {
    const ms = median(meanMs);
    return [
      operation,
      engine,
      label,
      per1000(ms).toFixed(1),
      formatOps((ENTITIES * 1000) / ms),
      ratio,
      ratioRange,
      p50Ratio,
      p50Ms.toFixed(1),
      maxMs === undefined ? '' : maxMs.toFixed(1),
      meanMs.map((value) => per1000(value).toFixed(1)).join(' / '),
    ];
  }
}

await main();
