/**
 * Re-encryption (KmsService.reencrypt(), Vault's rewrap) of stored secret envelopes from a
 * retired data key to the active one, on SQLite and on Postgres, against its floor, in the same
 * process and the same round:
 *
 *   library — `await kms.reencrypt()` with `reencryption.batchSize` 500 (the default), timed
 *             whole: its counts, the keyset-paged SELECT of each batch, opening and resealing
 *             every version envelope, one guarded batched UPDATE per batch in its own
 *             transaction; then kms_secrets.current_envelope, declared a copy of the current
 *             version's envelope, set from the moved version rows in SQL, a batch of primary keys
 *             at a time (a keys-only SELECT, then one UPDATE … FROM kms_secret_versions per batch
 *             in its own transaction), no envelope opened.
 *   floor   — the same batched UPDATEs of the same cells with values computed beforehand (real
 *             envelopes under the active key, made untimed by opening each value and sealing it
 *             again with its row's binding through the store's own envelopes, as the job's rewrap
 *             does; kms.rewrapEnvelope refuses the store's format v2): same batches
 *             of 500 rows in the job's order (table by table, by primary key), one transaction
 *             per batch, and the job's statement shape per engine (Postgres
 *             `UPDATE … FROM (SELECT unnest($1::type[]) …)`, SQLite `UPDATE … FROM (VALUES …)`),
 *             through the same driver without TypeORM (better-sqlite3 on the very connection
 *             TypeORM uses; a pg.Client). No SELECT, no decrypt or encrypt, and no old-envelope
 *             guard: the guard (`AND t.envelope = v.old_envelope`, the old envelope sent along
 *             and compared per row) is the job's protection against overwriting a concurrent
 *             write, i.e. part of what the library does beyond "write these values", so it is
 *             charged to the library, not to the floor.
 *
 * What "100,000 envelopes" counts: 100,000 secrets with one version each, so 100,000 stored
 * secret envelopes (the rows of kms_secret_versions). kms_secrets.current_envelope holds a copy
 * of each current version's envelope, and the job moves both registered columns (with their key
 * id columns), rewrapping the versions and copying the current envelopes from them: 200,000
 * envelope values, which is what the job's `moved` and countEnvelopesUsing() count. The floor updates exactly those 200,000 cells (each
 * envelope and its key id). Rates are given both ways: secrets/s (100,000 ÷ time) and values/s
 * (200,000 ÷ time); the ratio is the same.
 *
 * The tenant case, per engine, on a database of its own: the same number of secrets, stored as
 * tenants' (`~tenant-0007/…`, spread over BENCH_REENCRYPTION_TENANTS tenants, default 100) and
 * sealed under their tenants' keys; per round every tenant's key is rotated (untimed), then
 * `kms.reencrypt()` is timed. Tenants' values are rewrapped on the main thread (the rewrap thread
 * holds the keyring's keys only); the line after the table gives their rate against the
 * keyring's own run's and the floor's of the same engine.
 *
 * A round, per engine: rotate the data key → rewrap every value untimed → VACUUM (Postgres) →
 * time the floor's UPDATEs; rotate → VACUUM → time kms.reencrypt(). Every state in between is
 * valid (the floor writes real envelopes), so each library run moves what the floor wrote under
 * the previous key. The floor's values keep the two columns related as it found them (a value
 * both cells hold is rewrapped once for both; see precompute), so the floor changes nothing the
 * library would see but the key. The ratio is library rate ÷ floor rate per round, then the
 * median. Floor first in every round: its untimed rewraps also warm up the library's crypto path.
 *
 *   npm run bench          (builds with `nest build bench`, runs the KMS and getSecret benches, then this)
 *   BENCH_REENCRYPTION_ROUNDS=5 npm run bench         (default 3 rounds)
 *   BENCH_REENCRYPTION_SECRETS=20000 node dist/bench/bench/reencryption.bench.js   (default 100,000)
 *   BENCH_PG_URL=postgres://user@host:5432/db         (default: postgres://postgres@127.0.0.1:5432/test)
 *
 * On Postgres a fresh database is created for the run and dropped afterwards (BENCH_PG_URL names
 * the database to connect to for that); autovacuum is off on the two secrets tables and the
 * bench runs VACUUM ANALYZE before each timed part instead, so that both start from the same
 * table state. When Postgres does not answer, its rows are skipped with a notice, unless
 * BENCH_REQUIRE_PG=1.
 *
 * Not a test: nothing here asserts on time. Outside the timed parts the bench checks that every
 * floor UPDATE changed all its rows, that after each library run the job moved every value
 * (none failed, none remain) and every row of both tables is under the active key (key id column
 * and envelope prefix), and that a sample of secrets reads back through SecretsService.getSecret
 * (current value and version 1) to the value written. It also prints, per library run, how many
 * secrets still have current_envelope equal to their version's envelope (setSecret writes them
 * equal, and so does the job's copy; a restore of a backup compares them).
 */
import 'reflect-metadata';
import type { INestApplicationContext } from '@nestjs/common';
import type BetterSqlite3 from 'better-sqlite3';
import { randomBytes, randomInt } from 'node:crypto';
import { loadavg } from 'node:os';
import pg from 'pg';
import {
  alignedTable,
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
import { KmsModule, KmsService, type KmsConnectionOptions } from '@nest-kms/kms';
import {
  KmsStorage,
  purposeEnvelopes,
  tenantPurposeEnvelopes,
  type PurposeEnvelopes,
  type PurposeSealer,
} from '@nest-kms/kms/extension';
import { SecretsModule, SecretsService } from '@nest-kms/secrets';

type EngineName = 'sqlite' | 'postgres';

/** The target we hold re-encryption to: the library at least this share of the floor's rate. */
const TARGET_RATIO = 0.5;

const ROUNDS = positiveInt('BENCH_REENCRYPTION_ROUNDS', 3);
const SECRETS = positiveInt('BENCH_REENCRYPTION_SECRETS', 100_000);
/** The tenant case: the same number of secrets, spread over this many tenants. */
const TENANTS = positiveInt('BENCH_REENCRYPTION_TENANTS', 100);
/** The job's default (`reencryption.batchSize`), set explicitly so the floor uses the same. */
const BATCH_SIZE = 500;
/** As the job (reencryption.job.ts): SQLite statements hold at most this many rows. */
const SQLITE_ROWS_PER_UPDATE = 1_000;
/** Secrets read back through getSecret after each library run (current value and version 1). */
const SAMPLE = 500;
/** Rows per INSERT statement when seeding. */
const INSERT_CHUNK = 10_000;

/**
 * The secrets library's registered envelope columns, in registration order (the job's order:
 * SECRETS_ENVELOPE_COLUMNS in libs/secrets/src/secrets.constants.ts), with the types the job
 * casts its primary-key arrays to on Postgres (TypeORM's normalizeType of the entities' columns).
 */
interface TablePlan {
  readonly table: string;
  readonly keys: readonly { readonly name: string; readonly pgType: string }[];
  readonly envelope: string;
  readonly keyId: string;
  /** The columns of the secret name and version a row's value is bound to (secretBinding). */
  readonly binding: { readonly name: string; readonly version: string };
}
const TABLES: readonly TablePlan[] = [
  {
    table: 'kms_secret_versions',
    keys: [
      { name: 'secret_name', pgType: 'character varying' },
      { name: 'version', pgType: 'integer' },
    ],
    envelope: 'envelope',
    keyId: 'key_id',
    binding: { name: 'secret_name', version: 'version' },
  },
  {
    table: 'kms_secrets',
    keys: [{ name: 'name', pgType: 'character varying' }],
    envelope: 'current_envelope',
    keyId: 'current_key_id',
    binding: { name: 'name', version: 'current_version' },
  },
];

/** One batch of the floor: rows (primary key, new envelope) of one table, all under `keyId`. */
interface FloorBatch {
  readonly plan: TablePlan;
  readonly keys: readonly (readonly unknown[])[];
  readonly envelopes: readonly string[];
  readonly keyId: string;
}

/* ------------------------------------------------------------------------------------------ */

/** One engine's database and app, and the raw driver access the floor and the set-up use. */
interface Fixture {
  readonly engine: EngineName;
  readonly app: INestApplicationContext;
  readonly kms: KmsService;
  /** The secrets store's envelopes (format v2, purpose `secret`), sealed as the store seals. */
  readonly secretValues: PurposeEnvelopes;
  readonly secrets: SecretsService;
  /** A query through the engine's driver, bypassing TypeORM; `?` placeholders on both engines. */
  rows(sql: string, parameters?: readonly unknown[]): Promise<Record<string, unknown>[]>;
  /** Inserts the seeded secrets (`names[i]` holds `envelopes[i]`, under `keyIds[i]`). */
  seed(
    names: readonly string[],
    envelopes: readonly string[],
    keyIds: readonly string[],
  ): Promise<void>;
  /** The floor: one batch's UPDATE in its own transaction; returns the rows it changed. */
  update(batch: FloorBatch): Promise<number>;
  /** Before each timed part: VACUUM ANALYZE on Postgres; nothing on SQLite. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

/** The modules of the bench's application context, on `connection`. */
function appModules(connection: KmsConnectionOptions): ModuleImports {
  return [
    KmsModule.forRoot({
      masterKey: randomBytes(32).toString('base64'),
      connection,
      // Only the bench rotates and re-encrypts: no timer, no automatic run after rotating.
      rotation: { checkIntervalMs: 0 },
      reencryption: { auto: false, batchSize: BATCH_SIZE },
    }),
    // No expiry sweep timer either (nothing expires here; keeps its queries out of the runs).
    SecretsModule.forRoot({ lifecycle: { checkIntervalMs: 0 } }),
  ];
}

async function sqliteFixture(): Promise<Fixture> {
  const { database, remove } = createBenchSqliteFile();
  let app: INestApplicationContext | undefined;
  try {
    app = await startApp(appModules({ type: 'better-sqlite3', database }));
    const dataSource = await app.get(KmsStorage).dataSource();
    const db = rawSqliteConnection(dataSource);
    const statements = new Map<string, BetterSqlite3.Statement>();
    const prepared = (sql: string): BetterSqlite3.Statement => {
      let statement = statements.get(sql);
      if (statement === undefined) {
        statement = db.prepare(sql);
        statements.set(sql, statement);
      }
      return statement;
    };
    const runInTransaction = db.transaction(
      (work: readonly { sql: string; parameters: unknown[] }[]): number => {
        let changes = 0;
        for (const { sql, parameters } of work) changes += prepared(sql).run(parameters).changes;
        return changes;
      },
    );
    const opened = app;
    return {
      engine: 'sqlite',
      app,
      kms: app.get(KmsService),
      secretValues: purposeEnvelopes(app.get(KmsService), 'secret'),
      secrets: app.get(SecretsService),
      rows: async (sql, parameters = []) =>
        db.prepare(sql).all([...parameters]) as Record<string, unknown>[],
      seed: async (names, envelopes, keyIds) => {
        const now = Date.now();
        const secret = db.prepare(
          `INSERT INTO kms_secrets (name, current_version, current_envelope, current_key_id, rotation_policy, tags, created_at, updated_at) VALUES (?, 1, ?, ?, 'manual', '{}', ?, ?)`,
        );
        const version = db.prepare(
          'INSERT INTO kms_secret_versions (secret_name, version, envelope, key_id, created_at) VALUES (?, 1, ?, ?, ?)',
        );
        db.transaction(() => {
          for (let i = 0; i < names.length; i++) {
            version.run(names[i], envelopes[i], keyIds[i], now);
            secret.run(names[i], envelopes[i], keyIds[i], now, now);
          }
        })();
      },
      update: async (batch) => {
        const work: { sql: string; parameters: unknown[] }[] = [];
        for (let start = 0; start < batch.keys.length; start += SQLITE_ROWS_PER_UPDATE) {
          const end = Math.min(start + SQLITE_ROWS_PER_UPDATE, batch.keys.length);
          work.push(sqliteUpdate(batch, start, end));
        }
        return runInTransaction(work);
      },
      settle: async () => undefined,
      close: async () => {
        await opened.close();
        remove();
      },
    };
  } catch (error) {
    await app?.close();
    remove();
    throw error;
  }
}

/** The job's SQLite statement for rows [start, end) of a batch, without the old-envelope guard. */
function sqliteUpdate(
  batch: FloorBatch,
  start: number,
  end: number,
): { sql: string; parameters: unknown[] } {
  const { plan } = batch;
  const width = plan.keys.length;
  const tuple = `(${Array.from({ length: width + 2 }, () => '?').join(', ')})`;
  const parameters: unknown[] = [];
  for (let i = start; i < end; i++)
    parameters.push(...batch.keys[i], batch.envelopes[i], batch.keyId);
  // VALUES columns are named column1, column2, … in SQLite.
  const matches = plan.keys.map((key, i) => `"${plan.table}"."${key.name}" = v.column${i + 1}`);
  const sql = `UPDATE "${plan.table}" SET "${plan.envelope}" = v.column${width + 1}, "${plan.keyId}" = v.column${width + 2} FROM (VALUES ${Array.from({ length: end - start }, () => tuple).join(', ')}) AS v WHERE ${matches.join(' AND ')}`;
  return { sql, parameters };
}

/** The job's Postgres statement for a batch, without the old-envelope guard. */
function postgresUpdate(batch: FloorBatch): { sql: string; parameters: unknown[][] } {
  const { plan } = batch;
  const width = plan.keys.length;
  const arrays: unknown[][] = plan.keys.map(() => []);
  for (const key of batch.keys) key.forEach((value, i) => arrays[i].push(value));
  arrays.push(
    [...batch.envelopes],
    batch.envelopes.map(() => batch.keyId),
  );
  const columns = [
    ...plan.keys.map((key, i) => `unnest($${i + 1}::${key.pgType}[]) AS k${i}`),
    `unnest($${width + 1}::text[]) AS new_envelope`,
    `unnest($${width + 2}::text[]) AS new_key_id`,
  ];
  const matches = plan.keys.map((key, i) => `t."${key.name}" = v.k${i}`);
  const sql = `UPDATE "${plan.table}" AS t SET "${plan.envelope}" = v.new_envelope, "${plan.keyId}" = v.new_key_id FROM (SELECT ${columns.join(', ')}) AS v WHERE ${matches.join(' AND ')}`;
  return { sql, parameters: arrays };
}

async function postgresFixture(): Promise<Fixture | undefined> {
  const database = await createBenchDatabase();
  if (!database) return undefined;
  const { url, drop } = database;
  let app: INestApplicationContext | undefined;
  let client: pg.Client | undefined;
  try {
    app = await startApp(appModules({ type: 'postgres', url: url }));
    client = new pg.Client({ connectionString: url });
    await client.connect();
    const opened = { app, client };
    const numbered = (sql: string): string => {
      let at = 0;
      return sql.replace(/\?/g, () => `$${++at}`);
    };
    for (const { table } of TABLES) {
      await client.query(`ALTER TABLE ${table} SET (autovacuum_enabled = false)`);
    }
    return {
      engine: 'postgres',
      app,
      kms: app.get(KmsService),
      secretValues: purposeEnvelopes(app.get(KmsService), 'secret'),
      secrets: app.get(SecretsService),
      rows: async (sql, parameters = []) =>
        (await opened.client.query(numbered(sql), [...parameters])).rows as Record<
          string,
          unknown
        >[],
      seed: async (names, envelopes, keyIds) => {
        const now = Date.now();
        for (let start = 0; start < names.length; start += INSERT_CHUNK) {
          const chunk = [names, envelopes, keyIds].map((column) =>
            column.slice(start, start + INSERT_CHUNK),
          );
          await opened.client.query(
            `INSERT INTO kms_secret_versions (secret_name, version, envelope, key_id, created_at) SELECT n, 1, e, k, $4 FROM unnest($1::varchar[], $2::text[], $3::varchar[]) AS u(n, e, k)`,
            [...chunk, now],
          );
          await opened.client.query(
            `INSERT INTO kms_secrets (name, current_version, current_envelope, current_key_id, rotation_policy, tags, created_at, updated_at) SELECT n, 1, e, k, 'manual', '{}', $4, $4 FROM unnest($1::varchar[], $2::text[], $3::varchar[]) AS u(n, e, k)`,
            [...chunk, now],
          );
        }
      },
      update: async (batch) => {
        const { sql, parameters } = postgresUpdate(batch);
        await opened.client.query('BEGIN');
        try {
          const result = await opened.client.query(sql, parameters);
          await opened.client.query('COMMIT');
          return result.rowCount ?? 0;
        } catch (error) {
          await opened.client.query('ROLLBACK').catch(() => undefined);
          throw error;
        }
      },
      settle: async () => {
        await opened.client.query(`VACUUM ANALYZE ${TABLES.map((t) => t.table).join(', ')}`);
      },
      close: async () => {
        await opened.client.end();
        await opened.app.close();
        await drop();
      },
    };
  } catch (error) {
    await client?.end().catch(() => undefined);
    await app?.close();
    await drop();
    throw error;
  }
}

/* ------------------------------------------------------------------------------------------ */

/** The secrets written: name i holds value i (a 64-character API key), version 1. */
interface Seeded {
  readonly names: string[];
  readonly values: string[];
}

function makeSecrets(count: number): Seeded {
  const names: string[] = [];
  const values: string[] = [];
  const random = randomBytes(42 * count);
  for (let i = 0; i < count; i++) {
    // Zero-padded: the primary-key order is the numeric order on both engines.
    names.push(`bench/reencrypt-${String(i).padStart(7, '0')}`);
    values.push(`sk_live_${random.subarray(42 * i, 42 * (i + 1)).toString('base64url')}`);
  }
  return { names, values };
}

/** Envelopes sealed as the secrets store seals them (its purpose and binding), inserted in bulk. */
async function seed(fixture: Fixture, seeded: Seeded): Promise<number> {
  const started = performance.now();
  const { kms, secretValues } = fixture;
  const keyId = kms.getStatus().activeKeyId;
  if (keyId === null) throw new Error(`${fixture.engine}: KmsService did not initialize`);
  const envelopes: string[] = [];
  for (let i = 0; i < seeded.names.length; i++) {
    const { envelope } = secretValues.seal(seeded.values[i], secretBinding(seeded.names[i], 1));
    if (!envelope.startsWith(`kms2.secret.${keyId}.`)) {
      throw new Error(`${fixture.engine}: an envelope is not under the active key ${keyId}`);
    }
    envelopes.push(envelope);
  }
  await fixture.seed(
    seeded.names,
    envelopes,
    envelopes.map(() => keyId),
  );
  await fixture.settle();
  const using = await kms.countEnvelopesUsing(keyId);
  if (using !== 2 * seeded.names.length) {
    throw new Error(`${fixture.engine}: ${using} envelopes under the seed key after seeding`);
  }
  await checkSample(fixture, seeded, 'after seeding');
  return performance.now() - started;
}

/**
 * Untimed: every stored value of both tables rewrapped under the active key, in the job's order
 * (table by table, by primary key), cut into the job's batches. A value held by both cells (a
 * secret's current_envelope and its version's envelope, as setSecret writes them) is rewrapped
 * once and both cells get the same new envelope; cells that differ get their own. So the floor
 * leaves the two columns related exactly as it found them, and every library run starts from the
 * state the library itself (or setSecret) leaves.
 *
 * A rewrap here is the store's open, then its seal with the same binding (the row's secret name
 * and version): the same plaintext, purpose and AAD under the active key, as the job's rewrap
 * gives. kms.rewrapEnvelope serves the public format v1 only and refuses the store's values.
 */
async function precompute(fixture: Fixture, keyId: string): Promise<FloorBatch[]> {
  const batches: FloorBatch[] = [];
  const rewrapped = new Map<string, string>();
  for (const plan of TABLES) {
    const keys = plan.keys.map((key) => `"${key.name}"`).join(', ');
    const rows = await fixture.rows(
      `SELECT ${keys}, "${plan.binding.name}" AS bound_name, "${plan.binding.version}" AS bound_version, "${plan.envelope}" AS envelope FROM "${plan.table}" ORDER BY ${keys}`,
    );
    for (let start = 0; start < rows.length; start += BATCH_SIZE) {
      const slice = rows.slice(start, start + BATCH_SIZE);
      const envelopes: string[] = [];
      for (const row of slice) {
        const old = row.envelope as string;
        let envelope = rewrapped.get(old);
        if (envelope === undefined) {
          const binding = secretBinding(row.bound_name as string, Number(row.bound_version));
          const plaintext = await fixture.secretValues.open(old, binding);
          envelope = fixture.secretValues.seal(plaintext, binding).envelope;
          rewrapped.set(old, envelope);
        }
        envelopes.push(envelope);
      }
      batches.push({
        plan,
        keys: slice.map((row) => plan.keys.map((key) => row[key.name])),
        envelopes,
        keyId,
      });
    }
  }
  return batches;
}

/** Every row of both tables under `keyId`, by its key id column and its envelope's prefix. */
async function checkAllUnder(fixture: Fixture, keyId: string, when: string): Promise<void> {
  const prefix = `kms2.secret.${keyId}.`;
  for (const plan of TABLES) {
    const [row] = await fixture.rows(
      `SELECT COUNT(*) AS total, SUM(CASE WHEN "${plan.keyId}" = ? AND substr("${plan.envelope}", 1, ${prefix.length}) = ? THEN 1 ELSE 0 END) AS under FROM "${plan.table}"`,
      [keyId, prefix],
    );
    const total = Number(row.total);
    const under = Number(row.under);
    if (total !== SECRETS || under !== total) {
      throw new Error(
        `${fixture.engine} ${when}: ${plan.table} has ${under} of ${total} rows under ${keyId} (expected ${SECRETS})`,
      );
    }
  }
  const using = await fixture.kms.countEnvelopesUsing(keyId);
  if (using !== 2 * SECRETS) {
    throw new Error(`${fixture.engine} ${when}: countEnvelopesUsing gives ${using}`);
  }
}

/** SAMPLE random secrets read back through getSecret, current and version 1, from the database. */
async function checkSample(fixture: Fixture, seeded: Seeded, when: string): Promise<void> {
  const { secrets } = fixture;
  secrets.clearCache();
  for (let n = 0; n < Math.min(SAMPLE, seeded.names.length); n++) {
    const i = randomInt(seeded.names.length);
    const name = seeded.names[i];
    const current = await secrets.getSecret(name);
    const version = await secrets.getSecret(name, { version: 1 });
    if (current !== seeded.values[i] || version !== seeded.values[i]) {
      throw new Error(`${fixture.engine} ${when}: ${name} did not read back its value`);
    }
  }
  secrets.clearCache();
  // The service's own flush of the buffered read audit records, now rather than on its timer
  // inside the next timed part (it keeps working afterwards; see secrets.bench.ts).
  await secrets.beforeApplicationShutdown();
}

/**
 * Secrets whose kms_secrets.current_envelope is still byte for byte their current version's
 * envelope, as setSecret writes it (and as the backup's restore compares it).
 */
async function sameCopies(fixture: Fixture): Promise<number> {
  const [row] = await fixture.rows(
    'SELECT COUNT(*) AS n FROM kms_secrets s JOIN kms_secret_versions v ON v.secret_name = s.name AND v.version = s.current_version WHERE s.current_envelope = v.envelope',
  );
  return Number(row.n);
}

/* ------------------------------------------------------------------------------------------ */

/** The tenant case's secrets: secret i is tenant (i mod TENANTS)'s, stored as `~<tenant>/<name>`. */
interface TenantSeeded {
  readonly tenants: readonly string[];
  readonly tenantOf: readonly string[];
}

/** Seeds SECRETS tenants' secrets, each sealed as the secrets store seals a tenant's value. */
async function seedTenants(fixture: Fixture, seeded: Seeded): Promise<TenantSeeded> {
  const tenants = Array.from({ length: TENANTS }, (_, k) => `tenant-${String(k).padStart(4, '0')}`);
  const tenantOf = seeded.names.map((_, i) => tenants[i % TENANTS]);
  const stored = seeded.names.map((name, i) => `~${tenantOf[i]}/${name}`);
  const sealers = new Map<string, PurposeSealer>();
  for (const tenant of tenants) {
    sealers.set(tenant, await tenantPurposeEnvelopes(fixture.kms, 'secret', tenant).sealer());
  }
  const sealed = stored.map((name, i) =>
    sealers.get(tenantOf[i])!.seal(seeded.values[i], {
      ...secretBinding(name, 1),
      tenant: tenantOf[i],
    }),
  );
  await fixture.seed(
    stored,
    sealed.map((value) => value.envelope),
    sealed.map((value) => value.keyId),
  );
  await fixture.settle();
  return { tenants, tenantOf };
}

/**
 * One run of the tenant case: every tenant's key rotated (untimed; the tenants are then in
 * memory, as after a scheduled rotation), then kms.reencrypt() timed, which moves each tenant's
 * values to its tenant's new key on the main thread and copies the current envelopes in SQL.
 */
async function tenantRound(fixture: Fixture, seeded: Seeded, tenants: TenantSeeded): Promise<Run> {
  const { kms, secrets } = fixture;
  for (const tenant of tenants.tenants) await kms.rotateTenantKey(tenant);
  await fixture.settle();
  let result: Awaited<ReturnType<KmsService['reencrypt']>> | undefined;
  const run = await timed(async () => {
    result = await kms.reencrypt();
  });
  if (!result?.ran || result.moved !== 2 * SECRETS || result.failed !== 0 || result.remaining) {
    throw new Error(`${fixture.engine} tenants' reencrypt: ${JSON.stringify(result)}`);
  }
  for (const plan of TABLES) {
    const [row] = await fixture.rows(
      `SELECT COUNT(*) AS n FROM "${plan.table}" WHERE "${plan.keyId}" IN (SELECT id FROM kms_data_keys WHERE status = 'active' AND tenant IS NOT NULL)`,
    );
    if (Number(row.n) !== SECRETS) {
      throw new Error(
        `${fixture.engine} tenants: ${plan.table} has ${row.n} rows under active keys`,
      );
    }
  }
  if ((await sameCopies(fixture)) !== SECRETS) {
    throw new Error(`${fixture.engine} tenants: current envelopes no longer equal their versions'`);
  }
  secrets.clearCache();
  for (let n = 0; n < Math.min(SAMPLE, SECRETS); n++) {
    const i = randomInt(SECRETS);
    const value = await secrets.forTenant(tenants.tenantOf[i]).getSecret(seeded.names[i]);
    if (value !== seeded.values[i]) {
      throw new Error(`${fixture.engine} tenants: ${seeded.names[i]} did not read back its value`);
    }
  }
  secrets.clearCache();
  await secrets.beforeApplicationShutdown();
  return run;
}

/** The tenant case on a database of its own: ROUNDS runs of kms.reencrypt(). */
async function measureTenants(
  fixture: Fixture,
  seeded: Seeded,
  measurements: Measurements,
): Promise<void> {
  const tenants = await seedTenants(fixture, seeded);
  for (let round = 1; round <= ROUNDS; round++) {
    const run = await tenantRound(fixture, seeded, tenants);
    measurements.tenants.push(run);
    process.stdout.write(
      `${fixture.engine} tenants round ${round}/${ROUNDS}: reencrypt() ${(run.ms / 1000).toFixed(2)} s over ${TENANTS} tenants\n`,
    );
  }
}

/* ------------------------------------------------------------------------------------------ */

interface Run {
  readonly ms: number;
  /** This process's CPU (user + system, V8's helper threads included), in ms. */
  readonly cpuMs: number;
}

interface Measurements {
  engine: EngineName;
  seedMs: number;
  floor: Run[];
  library: Run[];
  /** The job's own figures (ReencryptionResult.durationMs, .envelopesPerSecond), per round. */
  jobDurationMs: number[];
  jobRate: number[];
  /** After each library run: secrets whose current_envelope equals their version's envelope. */
  sameCopies: number[];
  /** The tenant case's runs of kms.reencrypt() (on a database of its own). */
  tenants: Run[];
}

async function timed(work: () => Promise<void>): Promise<Run> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  await work();
  const ms = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return { ms, cpuMs: (used.user + used.system) / 1000 };
}

async function floorRound(fixture: Fixture): Promise<Run> {
  const { keyId } = await fixture.kms.rotateDataKey('bench');
  const batches = await precompute(fixture, keyId);
  await fixture.settle();
  let changed = 0;
  const run = await timed(async () => {
    for (const batch of batches) changed += await fixture.update(batch);
  });
  if (changed !== 2 * SECRETS) {
    throw new Error(`${fixture.engine} floor: ${changed} rows changed (expected ${2 * SECRETS})`);
  }
  await checkAllUnder(fixture, keyId, 'after the floor');
  return run;
}

async function libraryRound(
  fixture: Fixture,
  seeded: Seeded,
  measurements: Measurements,
): Promise<Run> {
  const { kms } = fixture;
  const { keyId } = await kms.rotateDataKey('bench');
  await fixture.settle();
  let batches = 0;
  let result: Awaited<ReturnType<KmsService['reencrypt']>> | undefined;
  const run = await timed(async () => {
    result = await kms.reencrypt({ onProgress: () => batches++ });
  });
  if (!result?.ran || result.moved !== 2 * SECRETS || result.failed !== 0 || result.remaining) {
    throw new Error(`${fixture.engine} reencrypt: ${JSON.stringify(result)}`);
  }
  const expectedBatches = 2 * Math.ceil(SECRETS / BATCH_SIZE);
  if (batches !== expectedBatches) {
    throw new Error(
      `${fixture.engine} reencrypt: ${batches} batches (expected ${expectedBatches})`,
    );
  }
  measurements.jobDurationMs.push(result.durationMs);
  measurements.jobRate.push(result.envelopesPerSecond);
  await checkAllUnder(fixture, keyId, 'after reencrypt()');
  await checkSample(fixture, seeded, 'after reencrypt()');
  measurements.sameCopies.push(await sameCopies(fixture));
  return run;
}

async function measure(fixture: Fixture, seeded: Seeded): Promise<Measurements> {
  const measurements: Measurements = {
    engine: fixture.engine,
    seedMs: 0,
    floor: [],
    library: [],
    jobDurationMs: [],
    jobRate: [],
    sameCopies: [],
    tenants: [],
  };
  measurements.seedMs = await seed(fixture, seeded);
  process.stdout.write(
    `${fixture.engine}: ${SECRETS.toLocaleString('en-US')} secrets seeded in ${(measurements.seedMs / 1000).toFixed(1)} s\n`,
  );
  for (let round = 1; round <= ROUNDS; round++) {
    const started = performance.now();
    const floor = await floorRound(fixture);
    const library = await libraryRound(fixture, seeded, measurements);
    measurements.floor.push(floor);
    measurements.library.push(library);
    process.stdout.write(
      `${fixture.engine} round ${round}/${ROUNDS}: floor ${(floor.ms / 1000).toFixed(2)} s, reencrypt() ${(library.ms / 1000).toFixed(2)} s, ${((floor.ms / library.ms) * 100).toFixed(1)} % (round done in ${((performance.now() - started) / 1000).toFixed(1)} s)\n`,
    );
  }
  return measurements;
}

async function main(): Promise<void> {
  process.stdout.write('\nRe-encryption: KmsService.reencrypt() against a bare batched UPDATE\n');
  printMachine(
    `${SECRETS.toLocaleString('en-US')} secrets × 1 version (64-byte values): ${SECRETS.toLocaleString('en-US')} secret envelopes, ${(2 * SECRETS).toLocaleString('en-US')} envelope values with kms_secrets.current_envelope; batches of ${BATCH_SIZE}; ${ROUNDS} round(s)`,
  );
  const seeded = makeSecrets(SECRETS);
  const results: Measurements[] = [];
  for (const open of [sqliteFixture, postgresFixture]) {
    const fixture = await open();
    if (!fixture) continue;
    let measurements: Measurements;
    try {
      measurements = await measure(fixture, seeded);
    } finally {
      await fixture.close();
    }
    // The tenant case on a fresh database: the keyring case's checks count every row as its.
    const tenantFixture = (await open())!;
    try {
      await measureTenants(tenantFixture, seeded, measurements);
    } finally {
      await tenantFixture.close();
    }
    results.push(measurements);
  }
  printTable(results);
}

function printTable(results: readonly Measurements[]): void {
  const header = [
    'engine',
    'impl',
    'secrets/s',
    'values/s',
    'of floor',
    'min–max',
    's',
    'CPU s',
    'secrets/s per round',
  ];
  const lines: string[][] = [];
  const verdicts: string[] = [];
  const rate = (run: Run): number => SECRETS / (run.ms / 1000);
  for (const m of results) {
    const ratios = m.library.map((run, i) => m.floor[i].ms / run.ms);
    const ratio = median(ratios);
    for (const [label, runs] of [
      ['floor: batched UPDATE', m.floor],
      ['kms.reencrypt()', m.library],
    ] as const) {
      const isLibrary = runs === m.library;
      const secretsPerSecond = median(runs.map(rate));
      lines.push([
        m.engine,
        label,
        formatOps(secretsPerSecond),
        formatOps(2 * secretsPerSecond),
        isLibrary ? `${(ratio * 100).toFixed(1)} %` : '100 %',
        isLibrary
          ? `${(Math.min(...ratios) * 100).toFixed(1)}–${(Math.max(...ratios) * 100).toFixed(1)} %`
          : '',
        (median(runs.map((run) => run.ms)) / 1000).toFixed(2),
        (median(runs.map((run) => run.cpuMs)) / 1000).toFixed(2),
        runs.map((run) => formatOps(rate(run))).join(' / '),
      ]);
    }
    verdicts.push(
      `${m.engine}: reencrypt() at ${(ratio * 100).toFixed(1)} % of the floor's rate (target ≥ ${TARGET_RATIO * 100} %): ${ratio >= TARGET_RATIO ? 'MET' : 'NOT MET'}; the job's own figure: ${formatOps(median(m.jobRate))} values/s in ${(median(m.jobDurationMs) / 1000).toFixed(2)} s`,
    );
    if (m.engine === 'sqlite') {
      // SQLite runs in this process, so its CPU is all of the work: a figure that the machine's
      // load moves far less than wall time (which waits for a core as much as it works).
      const cpuRatios = m.library.map((run, i) => m.floor[i].cpuMs / run.cpuMs);
      verdicts.push(
        `sqlite: by this process's CPU, reencrypt() at ${(median(cpuRatios) * 100).toFixed(1)} % of the floor (${(Math.min(...cpuRatios) * 100).toFixed(1)}–${(Math.max(...cpuRatios) * 100).toFixed(1)} %)`,
      );
    }
    if (m.tenants.length > 0) {
      const tenantRate = median(m.tenants.map(rate));
      const floorRate = median(m.floor.map(rate));
      const ownRate = median(m.library.map(rate));
      verdicts.push(
        `${m.engine}: tenants' secrets (${TENANTS} tenants, each rotated): reencrypt() ${formatOps(tenantRate)} secrets/s (${m.tenants.map((run) => formatOps(rate(run))).join(' / ')}), ${((tenantRate / ownRate) * 100).toFixed(1)} % of the keyring's own rate, ${((tenantRate / floorRate) * 100).toFixed(1)} % of the floor's`,
      );
    }
  }
  process.stdout.write(
    [
      '',
      `median of ${ROUNDS} round(s); secrets/s = ${SECRETS.toLocaleString('en-US')} ÷ wall time, values/s = ${(2 * SECRETS).toLocaleString('en-US')} ÷ wall time`,
      '(both envelope columns); of floor = reencrypt() rate ÷ floor rate per round (floor and',
      'reencrypt() back to back), then the median (min–max over rounds); s = wall time of one run;',
      "CPU s = this process's CPU during it (the Postgres server's is not included)",
      '',
      '',
    ].join('\n'),
  );
  process.stdout.write(alignedTable(header, lines, [2, 3, 4, 5, 6, 7]));
  process.stdout.write(`\n${verdicts.join('\n')}\n`);
  const [load1, load5] = loadavg();
  process.stdout.write(
    `load average at the end: ${load1.toFixed(2)} / ${load5.toFixed(2)} (1 / 5 min)\n`,
  );
  for (const m of results) {
    process.stdout.write(
      `${m.engine}: after each reencrypt(), secrets whose current_envelope equals their version's envelope: ${m.sameCopies.map((n) => formatOps(n)).join(' / ')} of ${formatOps(SECRETS)}\n`,
    );
  }
}

await main();
