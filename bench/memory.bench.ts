/**
 * Heap memory: bytes per cached secret by value size, bytes per data key of the KMS keyring, and
 * what a started application holds, against the design document's figures (~1 KB per cached
 * secret, ~100 KB overhead for typical use).
 *
 *   npm run bench                              (builds bench/ with `nest build bench`, then runs)
 *   node dist/bench/bench/memory.bench.js      (after a build; about 30 s)
 *   BENCH_ROUNDS=7 BENCH_MEMORY_SECRETS=10000 BENCH_MEMORY_KEYS=1000   (defaults 5, 5000, 500)
 *
 * Method: the bench runs itself again in a child process started with --expose-gc, so that each
 * reading comes after full collections (global.gc() three times, with a turn of the event loop
 * between them). A measurement is the difference of V8's used heap (process.memoryUsage()
 * .heapUsed, which is v8.getHeapStatistics().used_heap_size) between two readings, divided by
 * the count. Cached secrets: the cache full of them, then cleared (clearCache() drops the
 * entries and nothing else). Data keys: before and after rotating to that many new keys, each
 * then used to seal and open once, after warm-up rotations; code compiled and buffers grown on
 * the way count too, so this figure is an upper bound and varies more between rounds. Not a test: the checks (the cache
 * holds every secret, every read returns its value) only make a broken build fail.
 */
import 'reflect-metadata';
import type { INestApplicationContext } from '@nestjs/common';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { KmsModule, KmsService } from '@nest-kms/kms';
import { SecretsModule, SecretsService } from '@nest-kms/secrets';
import {
  alignedTable,
  createBenchSqliteFile,
  median,
  type ModuleImports,
  positiveInt,
  printMachine,
  startApp,
} from './bench-support.js';

const ROUNDS = positiveInt('BENCH_ROUNDS', 5);
const SECRETS = positiveInt('BENCH_MEMORY_SECRETS', 5_000);
const DATA_KEYS = positiveInt('BENCH_MEMORY_KEYS', 500);
const VALUE_SIZES = [32, 1024, 16 * 1024];
/** The design document's "typical use": a handful of data keys, a hundred small secrets. */
const TYPICAL = { secrets: 100, valueBytes: 64, dataKeys: 5 };

const gc = (globalThis as { gc?: () => void }).gc;

interface HeapReading {
  heapUsed: number;
  external: number;
}

/** The heap after full collections (a turn of the event loop between them lets finalizers run). */
async function heapAfterGc(): Promise<HeapReading> {
  for (let i = 0; i < 3; i++) {
    gc!();
    await new Promise((resolve) => setImmediate(resolve));
  }
  const { heapUsed, external } = process.memoryUsage();
  return { heapUsed, external };
}

function kmsModule(database: string) {
  return KmsModule.forRoot({
    masterKey: randomBytes(32).toString('base64'),
    connection: { type: 'better-sqlite3', database },
  });
}

/** An app on a fresh SQLite file; close() also removes the file. */
async function openApp(
  imports: (database: string) => ModuleImports,
): Promise<{ app: INestApplicationContext; close(): Promise<void> }> {
  const { database, remove } = createBenchSqliteFile();
  const app = await startApp(imports(database));
  return {
    app,
    close: async () => {
      await app.close();
      remove();
    },
  };
}

/** ASCII, as API keys and tokens are: one byte per character in the heap as in UTF-8. */
function valueOf(length: number): string {
  return randomBytes(length).toString('base64url').slice(0, length);
}

/** Writes the buffered audit records (as the service's shutdown hook does; it keeps working). */
async function flushAudit(secrets: SecretsService): Promise<void> {
  await secrets.beforeApplicationShutdown();
}

/** Bytes of heap per cached secret of `valueBytes`, median over the rounds. */
async function perCachedSecret(valueBytes: number): Promise<{ perEntry: number; spread: string }> {
  const opened = await openApp((database) => [
    kmsModule(database),
    // Room for every secret: this measures entries, not eviction.
    SecretsModule.forRoot({
      cacheMaxEntries: SECRETS,
      cacheMaxBytes: Number.MAX_SAFE_INTEGER,
      audit: { flushIntervalMs: 3_600_000 },
    }),
  ]);
  try {
    const secrets = opened.app.get(SecretsService);
    const names = Array.from({ length: SECRETS }, (_, i) => `bench/memory-${i}`);
    const values = names.map(() => valueOf(valueBytes));
    for (let i = 0; i < SECRETS; i++) await secrets.setSecret(names[i], values[i]);
    const readAll = async (): Promise<void> => {
      for (let i = 0; i < SECRETS; i++) {
        if ((await secrets.getSecret(names[i])) !== values[i]) throw new Error('wrong value read');
      }
      await flushAudit(secrets);
    };
    // Warm: every path of a miss and a hit has run before the first reading.
    await readAll();
    await readAll();
    const perEntry: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      secrets.clearCache();
      await readAll();
      const { cacheSize } = await secrets.getStatus();
      if (cacheSize !== SECRETS) throw new Error(`cache holds ${cacheSize} of ${SECRETS}`);
      const full = await heapAfterGc();
      // Only the entries differ between the two readings: code compiled and buffers grown
      // by the reads are in both.
      secrets.clearCache();
      const empty = await heapAfterGc();
      perEntry.push((full.heapUsed - empty.heapUsed) / SECRETS);
    }
    return { perEntry: median(perEntry), spread: range(perEntry) };
  } finally {
    await opened.close();
  }
}

/** Bytes of heap per data key in the keyring, each key used to seal and open once. */
async function perDataKey(): Promise<{ perKey: number; spread: string; external: number }> {
  const opened = await openApp((database) => [kmsModule(database)]);
  try {
    const kms = opened.app.get(KmsService);
    const rotateAndUse = async (count: number): Promise<void> => {
      for (let i = 0; i < count; i++) {
        await kms.rotateDataKey();
        const sealed = await kms.encryptData('a value', { aad: { purpose: 'memory-bench' } });
        await kms.decryptData(sealed, { aad: { purpose: 'memory-bench' } });
      }
    };
    await rotateAndUse(20);
    const perKey: number[] = [];
    const external: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const before = await heapAfterGc();
      await rotateAndUse(DATA_KEYS);
      const after = await heapAfterGc();
      perKey.push((after.heapUsed - before.heapUsed) / DATA_KEYS);
      external.push((after.external - before.external) / DATA_KEYS);
    }
    return { perKey: median(perKey), spread: range(perKey), external: median(external) };
  } finally {
    await opened.close();
  }
}

/**
 * The heap a started app holds over the process with the libraries' code loaded: Nest, TypeORM,
 * the SQLite driver and both modules, with the typical number of data keys and secrets stored
 * (their cached values are counted from the per-secret figure: a hundred entries are within
 * the readings' noise).
 */
async function startedApp(): Promise<number> {
  const bare = await heapAfterGc();
  const opened = await openApp((database) => [
    kmsModule(database),
    SecretsModule.forRoot({ audit: { flushIntervalMs: 3_600_000 } }),
  ]);
  try {
    const secrets = opened.app.get(SecretsService);
    const kms = opened.app.get(KmsService);
    for (let i = 0; i < TYPICAL.secrets; i++) {
      await secrets.setSecret(`typical/secret-${i}`, valueOf(TYPICAL.valueBytes));
    }
    for (let i = 1; i < TYPICAL.dataKeys; i++) await kms.rotateDataKey();
    await flushAudit(secrets);
    return (await heapAfterGc()).heapUsed - bare.heapUsed;
  } finally {
    await opened.close();
  }
}

function range(values: readonly number[]): string {
  return `${Math.round(Math.min(...values))}–${Math.round(Math.max(...values))}`;
}

function bytes(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

async function measure(): Promise<void> {
  process.stdout.write('\nHeap memory: cached secrets, data keys, a typical application\n');
  printMachine(
    `${SECRETS} secrets per value size, ${DATA_KEYS} data keys, median of ${ROUNDS} round(s); heap after global.gc()`,
  );
  // First, while the process holds nothing else of ours.
  const appBytes = await startedApp();
  const rows: string[][] = [];
  /** Heap bytes of an entry besides its value's characters, from the smallest values. */
  let entryOverhead = 0;
  for (const size of VALUE_SIZES) {
    const { perEntry, spread } = await perCachedSecret(size);
    if (size === VALUE_SIZES[0]) entryOverhead = perEntry - size;
    rows.push([
      `cached secret, ${bytes(size)} B value`,
      bytes(perEntry),
      spread,
      bytes(perEntry - size),
      '~1,000 per secret',
    ]);
  }
  const keys = await perDataKey();
  rows.push(['data key (keyring, used once)', bytes(keys.perKey), keys.spread, '', '32 per key']);
  process.stdout.write(
    alignedTable(
      ['what', 'heap bytes each', 'min–max', 'beyond the value', 'design document'],
      rows,
      [1, 2, 3],
    ),
  );
  process.stdout.write(
    `data keys: also ${bytes(keys.external)} bytes of memory outside the heap each (Buffers)\n`,
  );
  const typicalCache = TYPICAL.secrets * (TYPICAL.valueBytes + entryOverhead);
  const typicalData = typicalCache + TYPICAL.dataKeys * keys.perKey;
  process.stdout.write(
    [
      '',
      `typical use (${TYPICAL.secrets} cached secrets of ${TYPICAL.valueBytes} B, ${TYPICAL.dataKeys} data keys; design document: ~100 KB overhead):`,
      `  cached values ${TYPICAL.secrets} × (${TYPICAL.valueBytes} + ${bytes(entryOverhead)}) + data keys ${TYPICAL.dataKeys} × ${bytes(keys.perKey)} = ${bytes(typicalData)} bytes of heap`,
      `  the started application besides (Nest, TypeORM, the SQLite driver, both modules; libraries' code already loaded): ${bytes(appBytes)} bytes of heap`,
      '',
    ].join('\n'),
  );
}

if (gc === undefined) {
  // global.gc() is only there with --expose-gc: run this file again in a child that has it.
  const child = spawnSync(
    process.execPath,
    ['--expose-gc', ...process.execArgv, fileURLToPath(import.meta.url)],
    { stdio: 'inherit' },
  );
  process.exitCode = child.status ?? 1;
} else {
  await measure();
}
