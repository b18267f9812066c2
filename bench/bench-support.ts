import { Module, type INestApplicationContext, type ModuleMetadata } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type BetterSqlite3 from 'better-sqlite3';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, platform, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import type { Task } from 'tinybench';
import type { DataSource } from 'typeorm';
import { adminQuery, postgresAnswers } from '../test/support/postgres-admin.js';

/** A positive integer from the environment (BENCH_ROUNDS and the like), else `fallback`. */
export function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new Error(`${name} must be a positive integer (got "${raw}")`);
  }
  return value;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export function formatOps(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

/** The machine a run was measured on, then the bench's own lines. */
export function printMachine(...lines: string[]): void {
  const cpuList = cpus();
  const [load1, load5] = loadavg();
  process.stdout.write(
    [
      `node ${process.version} (V8 ${process.versions.v8}, OpenSSL ${process.versions.openssl})`,
      `cpu: ${cpuList[0]?.model ?? 'unknown'}, ${cpuList.length} logical cores (available parallelism ${availableParallelism()})`,
      `os: ${platform()} ${release()}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, load average ${load1.toFixed(2)} / ${load5.toFixed(2)} (1 / 5 min)`,
      ...lines,
      '',
    ].join('\n'),
  );
}

const PG_URL =
  process.env.BENCH_PG_URL ??
  process.env.KMS_TEST_PG_URL ??
  'postgres://postgres@127.0.0.1:5432/test';
const REQUIRE_PG = process.env.BENCH_REQUIRE_PG === '1';

/** What a run's cleanup must drop if the process is stopped (Ctrl-C, a kill, a crash). */
const pendingDrops = new Set<() => Promise<void>>();
function dropThenExit(code: number): void {
  const drops = [...pendingDrops];
  pendingDrops.clear();
  void Promise.all(drops.map((drop) => drop().catch(() => undefined))).finally(() =>
    process.exit(code),
  );
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => dropThenExit(130));
}
process.once('uncaughtException', (error) => {
  process.stderr.write(`${error.stack ?? String(error)}\n`);
  dropThenExit(1);
});

/**
 * A fresh Postgres database for a bench run (BENCH_PG_URL names the server and the database to
 * connect to for that), or undefined with a notice when Postgres does not answer (an error with
 * BENCH_REQUIRE_PG=1). drop() removes it; so does Ctrl-C, a kill or a crash (e.g. EPIPE on stdout
 * piped into `head`) outside the bench's own promise chain.
 */
export async function createBenchDatabase(): Promise<
  { url: string; drop(): Promise<void> } | undefined
> {
  if (!(await postgresAnswers(PG_URL))) {
    const message = `Postgres does not answer at ${PG_URL}`;
    if (REQUIRE_PG) throw new Error(`${message}; BENCH_REQUIRE_PG=1 requires it`);
    process.stdout.write(`NOTICE: ${message}; the Postgres rows are skipped\n`);
    return undefined;
  }
  const database = `nest_kms_bench_${randomBytes(6).toString('hex')}`;
  await adminQuery(PG_URL, `CREATE DATABASE ${database}`);
  const drop = async (): Promise<void> => {
    pendingDrops.delete(drop);
    await adminQuery(PG_URL, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  };
  pendingDrops.add(drop);
  const url = new URL(PG_URL);
  url.pathname = `/${database}`;
  return { url: url.toString(), drop };
}

/** A SQLite file in a fresh temporary directory; remove() deletes it, as exit does (also on a crash or Ctrl-C). */
export function createBenchSqliteFile(): { database: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'nest-kms-bench-'));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  // process.exit runs 'exit' listeners; rmSync is synchronous.
  process.once('exit', remove);
  return { database: join(dir, 'kms.sqlite'), remove };
}

@Module({})
class BenchModule {}

/** What a bench's application context imports: KmsModule and what it builds on. */
export type ModuleImports = NonNullable<ModuleMetadata['imports']>;

/** An application context of `imports`, as every bench starts one: Nest's logger off. */
export function startApp(imports: ModuleImports): Promise<INestApplicationContext> {
  return NestFactory.createApplicationContext({ module: BenchModule, imports }, { logger: false });
}

/** The better-sqlite3 connection TypeORM itself uses: same file, same page cache, same pragmas. */
export function rawSqliteConnection(dataSource: DataSource): BetterSqlite3.Database {
  return (dataSource.driver as unknown as { databaseConnection: BetterSqlite3.Database })
    .databaseConnection;
}

/** The floor of every crypto bench: one AES-256-GCM seal in node:crypto with nothing around it. */
export interface RawGcmSealed {
  iv: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

export function rawGcmSeal(key: Buffer, plaintext: Buffer, aad: Buffer): RawGcmSealed {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
  cipher.setAAD(aad);
  const ciphertext = cipher.update(plaintext);
  cipher.final();
  return { iv, ciphertext, tag: cipher.getAuthTag() };
}

export function rawGcmOpen(key: Buffer, sealed: RawGcmSealed, aad: Buffer): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.iv, { authTagLength: 16 });
  decipher.setAuthTag(sealed.tag);
  decipher.setAAD(aad);
  const plaintext = decipher.update(sealed.ciphertext);
  decipher.final();
  return plaintext;
}

/**
 * The AAD the secrets store binds a version's value with (`secretBinding` in
 * libs/secrets/src/secret.mapping.ts; docs/envelope-format.md): a value copied onto another
 * secret's row, or another version, does not open there.
 */
export function secretBinding(name: string, version: number): Record<string, string> {
  return { secret: name, version: String(version) };
}

/**
 * Bytes of the envelope header the library authenticates besides the caller's AAD: format v1
 * (the public API) without `purpose`, format v2 (a store's values) with it.
 */
export function envelopeHeaderBytes(keyId: string, purpose?: 'secret' | 'column'): number {
  // 'nest-kms/envelope' | v | alg length | 'aes-256-gcm' (then the purpose's length and itself)
  const prefix = 'nest-kms/envelope'.length + 1 + 1 + 'aes-256-gcm'.length;
  const purposeBytes = purpose === undefined ? 0 : 1 + purpose.length;
  // keyId length | keyId | u64 timestamp | AAD flag
  return prefix + purposeBytes + 1 + keyId.length + 8 + 1;
}

/** A task's result, or an error saying how it ended: a failed task must not print a figure. */
export function completedResult(task: Task): Extract<Task['result'], { state: 'completed' }> {
  const result = task.result;
  if (result.state !== 'completed') {
    throw new Error(
      `task ${task.name} ended ${result.state}${'error' in result ? `: ${String(result.error)}` : ''}`,
    );
  }
  return result;
}

/** A plain-text table: a header, a rule, the rows; `numeric` columns right-aligned. */
export function alignedTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  numeric: readonly number[],
): string {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((r) => r[i].length)));
  const format = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (numeric.includes(i) ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [header, widths.map((w) => '-'.repeat(w)), ...rows]
    .map(
      (row) => `${format(row)}
`,
    )
    .join('');
}
