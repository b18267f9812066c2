/**
 * 10,000 tenants in one keyring (SQLite file): what a start costs with them stored (against the
 * same start with none), the heap after it and after every tenant's keys are loaded, the first
 * use of a tenant after a start (its keys read and unwrapped) against a use of a tenant in
 * memory, and an encrypt under a tenant's key in memory against an encrypt under the keyring's
 * own key and a raw node:crypto AES-256-GCM seal (the floor), in the same process and round;
 * and the same encrypt and synchronous decrypt for a tenant whose keys its own master key wraps
 * (an in-process provider: what the recheck of its keys adds to the hot path, not a network).
 *
 *   npm run build:packages && npx tsc -p bench/tsconfig.json && node --expose-gc dist/bench/bench/tenants.bench.js
 *   BENCH_TENANTS=10000 BENCH_TIME_MS=800 BENCH_ROUNDS=5 ...
 *
 * Not a test: nothing here asserts on time. Each task's output is checked once before timing.
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Bench } from 'tinybench';
import type { INestApplicationContext } from '@nestjs/common';
import { KmsModule, KmsService, LocalMasterKeyProvider, type EnvelopeV1 } from '@nest-kms/kms';
import {
  alignedTable,
  completedResult,
  createBenchSqliteFile,
  median,
  positiveInt,
  printMachine,
  rawGcmSeal,
  startApp,
} from './bench-support.js';

const TENANTS = positiveInt('BENCH_TENANTS', 10_000);
const FIRST_USES = Math.min(1_000, TENANTS);
const TIME_MS = positiveInt('BENCH_TIME_MS', 800);
const WARMUP_MS = positiveInt('BENCH_WARMUP_MS', 200);
const ROUNDS = positiveInt('BENCH_ROUNDS', 5);
const masterKey = randomBytes(32).toString('base64');
/** The one tenant with a master key of its own. */
const OWN_KEY_TENANT = 'own-key-tenant';
const ownMasterKey = new LocalMasterKeyProvider(randomBytes(32));

let sink: unknown;

const heapMiB = (): number => {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20;
};

async function start(database: string): Promise<{ app: INestApplicationContext; ms: number }> {
  const startedAt = performance.now();
  const app = await startApp([
    KmsModule.forRoot({
      masterKey,
      connection: { type: 'better-sqlite3', database },
      rotation: { checkIntervalMs: 0 },
      reencryption: { auto: false },
      tenantMasterKeys: {
        providerFor: (tenant) => (tenant === OWN_KEY_TENANT ? ownMasterKey : undefined),
      },
    }),
  ]);
  return { app, ms: performance.now() - startedAt };
}

async function main(): Promise<void> {
  printMachine(
    `${TENANTS} tenants, one data key each, SQLite file; payload 1 KiB; heap after gc (run with --expose-gc)`,
  );
  const withTenants = createBenchSqliteFile();
  const empty = createBenchSqliteFile();
  const payload = randomBytes(1024);

  // The keyring with every tenant's first key, and one envelope per tenant.
  let { app } = await start(withTenants.database);
  const envelopes: EnvelopeV1[] = [];
  const createdAt = performance.now();
  for (let i = 0; i < TENANTS; i++) {
    envelopes.push(await app.get(KmsService).encryptData(payload, { tenant: `tenant-${i}` }));
  }
  const createMs = performance.now() - createdAt;
  await app.close();
  await (await start(empty.database)).app.close();

  // Starts: with every tenant stored against an empty keyring (each opened once before, so
  // both only open; best of three).
  const startsWith: number[] = [];
  const startsEmpty: number[] = [];
  for (let i = 0; i < 3; i++) {
    const other = await start(empty.database);
    startsEmpty.push(other.ms);
    await other.app.close();
    const next = await start(withTenants.database);
    startsWith.push(next.ms);
    if (i < 2) await next.app.close();
    else app = next.app;
  }
  const kms = app.get(KmsService);
  const heapAtStart = heapMiB();

  // First use after the start (keys read and unwrapped) against the same tenants in memory.
  const firstUse: number[] = [];
  const cachedUse: number[] = [];
  for (let i = 0; i < FIRST_USES; i++) {
    const tenant = `tenant-${i}`;
    let at = performance.now();
    sink = await kms.decryptData(envelopes[i], { tenant, as: 'buffer' });
    firstUse.push(performance.now() - at);
    at = performance.now();
    sink = await kms.decryptData(envelopes[i], { tenant, as: 'buffer' });
    cachedUse.push(performance.now() - at);
  }
  for (let i = FIRST_USES; i < TENANTS; i++) {
    sink = await kms.decryptData(envelopes[i], { tenant: `tenant-${i}`, as: 'buffer' });
  }
  const heapAllLoaded = heapMiB();

  // Encrypt: a tenant in memory, the keyring's own key, raw node:crypto.
  const rawKey = randomBytes(32);
  const rawAad = randomBytes(40);
  const opened = await kms.decryptData(await kms.encryptData(payload, { tenant: 'tenant-7' }), {
    tenant: 'tenant-7',
    as: 'buffer',
  });
  if (!opened.equals(payload)) throw new Error('a tenant envelope did not round-trip');
  const ofOwnKeyTenant = await kms.encryptData(payload, { tenant: OWN_KEY_TENANT });
  if (
    !kms.decryptDataSync(ofOwnKeyTenant, { tenant: OWN_KEY_TENANT, as: 'buffer' }).equals(payload)
  ) {
    throw new Error('an envelope of the tenant with its own master key did not round-trip');
  }
  const periods = new Map<string, number[]>();
  for (let round = 1; round <= ROUNDS; round++) {
    const bench = new Bench({ time: TIME_MS, warmupTime: WARMUP_MS, throws: true });
    bench.add('encryptData { tenant } (in memory)', async () => {
      sink = await kms.encryptData(payload, { tenant: 'tenant-7' });
    });
    bench.add('encryptData { tenant } (own master key, in memory)', async () => {
      sink = await kms.encryptData(payload, { tenant: OWN_KEY_TENANT });
    });
    bench.add('encryptData (keyring key)', async () => {
      sink = await kms.encryptData(payload);
    });
    bench.add('decryptDataSync { tenant }', () => {
      sink = kms.decryptDataSync(envelopes[7], { tenant: 'tenant-7', as: 'buffer' });
    });
    bench.add('decryptDataSync { tenant } (own master key)', () => {
      sink = kms.decryptDataSync(ofOwnKeyTenant, { tenant: OWN_KEY_TENANT, as: 'buffer' });
    });
    bench.add('raw AES-256-GCM seal (floor)', () => {
      sink = rawGcmSeal(rawKey, payload, rawAad);
    });
    for (const task of await bench.run()) {
      const list = periods.get(task.name) ?? [];
      list.push(completedResult(task).period);
      periods.set(task.name, list);
    }
    process.stdout.write(`round ${round}/${ROUNDS} done\n`);
  }
  await app.close();

  const ms = (value: number) => value.toFixed(1);
  const us = (value: number) => (value * 1000).toFixed(1);
  process.stdout.write(`\n${TENANTS} tenants created (first key each) in ${ms(createMs)} ms\n\n`);
  process.stdout.write(
    alignedTable(
      ['start-up (best of 3)', 'ms', 'heap after (MiB)'],
      [
        [`${TENANTS} tenants stored`, ms(Math.min(...startsWith)), heapAtStart.toFixed(1)],
        ['no tenant (floor)', ms(Math.min(...startsEmpty)), ''],
        [`after loading all ${TENANTS}`, '', heapAllLoaded.toFixed(1)],
      ],
      [1, 2],
    ),
  );
  process.stdout.write(`\n${FIRST_USES} tenants, median:\n\n`);
  process.stdout.write(
    alignedTable(
      ['decryptData', 'µs', 'ratio'],
      [
        [
          'first use after start',
          us(median(firstUse)),
          `${(median(firstUse) / median(cachedUse)).toFixed(1)}×`,
        ],
        ['tenant in memory', us(median(cachedUse)), '1×'],
      ],
      [1, 2],
    ),
  );
  const floor = median(periods.get('raw AES-256-GCM seal (floor)')!);
  process.stdout.write(`\nmedian of ${ROUNDS} round(s), ${TIME_MS} ms per task, 1 KiB:\n\n`);
  process.stdout.write(
    alignedTable(
      ['task', 'µs', '× floor'],
      [...periods].map(([name, list]) => [
        name,
        us(median(list)),
        `${(median(list) / floor).toFixed(2)}×`,
      ]),
      [1, 2],
    ),
  );
  void sink;
  withTenants.remove();
  empty.remove();
}

await main();
