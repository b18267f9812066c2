/**
 * The master-key providers side by side, in one process and one run: local, AWS KMS (its local
 * double over HTTP), Azure Key Vault (its local double over HTTPS) and PKCS#11 (a SoftHSM2
 * token). Measured: KmsModule start-up on a new keyring and on existing ones, the first load of
 * a data key another replica made, the encrypt/decrypt hot path (with a count proving no provider
 * call on it), and the providers' own wrap/unwrap rates.
 *
 *   npm run bench                       (builds bench/ with `nest build bench`, then runs)
 *   node dist/bench/bench/master-keys.bench.js   (after a build; about 50 s)
 *   BENCH_ROUNDS=9 BENCH_KEY_LOADS=40 BENCH_TIME_MS=1000 BENCH_CALL_MS=1500 (defaults 5, 15, 500, 500)
 *
 * Not a test: nothing here asserts on time. The checks (round trips, one unwrap per key load, no
 * provider call on the hot path) make a broken build fail instead of printing a figure.
 */
import 'reflect-metadata';
import type { INestApplicationContext } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { Bench, type Task } from 'tinybench';
import {
  KmsModule,
  KmsService,
  LocalMasterKeyProvider,
  type MasterKeyCallOptions,
  type MasterKeyProvider,
} from '@nest-kms/kms';
import { awsKmsMasterKey } from '@nest-kms/aws-kms';
import { azureKeyVaultMasterKey } from '@nest-kms/azure-key-vault';
import { generatePkcs11MasterKey, pkcs11MasterKey } from '@nest-kms/pkcs11';
import { FakeAwsKms } from '../test/support/fake-aws-kms.js';
import { FakeAzureKeyVault, opensslAvailable } from '../test/support/fake-azure-key-vault.js';
import { createSoftHsmToken, softHsmAvailable } from '../test/support/softhsm.js';
import {
  alignedTable,
  completedResult,
  createBenchSqliteFile,
  formatOps,
  median,
  positiveInt,
  printMachine,
  startApp,
} from './bench-support.js';

const ROUNDS = positiveInt('BENCH_ROUNDS', 5);
const KEY_LOADS = positiveInt('BENCH_KEY_LOADS', 15);
const TIME_MS = positiveInt('BENCH_TIME_MS', 500);
const WARMUP_MS = positiveInt('BENCH_WARMUP_MS', 100);
const HOT_ROUNDS = positiveInt('BENCH_HOT_ROUNDS', 5);
const CALL_MS = positiveInt('BENCH_CALL_MS', 500);
const CALL_ROUNDS = positiveInt('BENCH_CALL_ROUNDS', 3);
/** Data keys in the larger existing keyring (BENCH_KEYS - 1 rotations after the first start). */
const KEYS = positiveInt('BENCH_KEYS', 20);
/** The stand-in network round trip of the 'aws-kms, network' start-up rows. */
const NETWORK_MS = positiveInt('BENCH_NETWORK_MS', 5);
const CONCURRENCY = 8;
const PAYLOAD = randomBytes(1024);
const STORM_REPLICAS = 100;
/** Keys a keyring holds after a year of 90-day rotation, and after heavy rotation. */
const STORM_KEYS = [5, 50] as const;

type ProviderName = 'local' | 'aws-kms' | 'aws-kms, network' | 'azure-key-vault' | 'pkcs11';

/** Calls that reached a contender's providers (every instance it made), by operation. */
interface ProviderCalls {
  fingerprint: number;
  wrap: number;
  unwrap: number;
}

interface Contender {
  readonly name: ProviderName;
  /** How the provider is reached here. */
  readonly via: string;
  readonly calls: ProviderCalls;
  /** A new, counted instance: KmsModule destroys the one it is given when its app closes. */
  create(): MasterKeyProvider;
  /** Requests its service (a double) received so far; absent for a key in this process. */
  readonly serviceRequests?: () => number;
}

interface KmsApp {
  readonly app: INestApplicationContext;
  readonly kms: KmsService;
}

/** `provider`, with every call counted into `calls`; deriveKey only where the provider has it. */
function counted(provider: MasterKeyProvider, calls: ProviderCalls): MasterKeyProvider {
  return {
    name: provider.name,
    fingerprint: (options?: MasterKeyCallOptions) => {
      calls.fingerprint++;
      return provider.fingerprint(options);
    },
    wrapDataKey: (dataKey, keyId, options) => {
      calls.wrap++;
      return provider.wrapDataKey(dataKey, keyId, options);
    },
    unwrapDataKey: (wrappedKey, keyId, options) => {
      calls.unwrap++;
      return provider.unwrapDataKey(wrappedKey, keyId, options);
    },
    ...(provider.deriveKey ? { deriveKey: (label: string) => provider.deriveKey!(label) } : {}),
    destroy: () => provider.destroy?.(),
  };
}

function makeContender(
  name: ProviderName,
  via: string,
  make: () => MasterKeyProvider,
  serviceRequests?: () => number,
): Contender {
  const calls = { fingerprint: 0, wrap: 0, unwrap: 0 };
  return { name, via, calls, create: () => counted(make(), calls), serviceRequests };
}

/** `list` from its `round`-th member on, wrapping round: no provider always goes first. */
const inTurn = <T>(list: readonly T[], round: number): T[] =>
  list.map((_, i) => list[(i + round) % list.length]);

const sum = (counts: Record<string, number>): number =>
  Object.values(counts).reduce((total, count) => total + count, 0);

/** Every provider this machine can run, and what to release afterwards. */
async function contenders(): Promise<{
  list: Contender[];
  network: Contender;
  release: () => Promise<void>;
}> {
  const releases: (() => unknown)[] = [];
  const localKey = randomBytes(32);
  const list = [makeContender('local', 'in process', () => new LocalMasterKeyProvider(localKey))];

  const aws = await FakeAwsKms.start();
  releases.push(() => aws.close());
  const awsCredentials = {
    accessKeyId: 'AKIATEST',
    secretAccessKey: randomBytes(30).toString('base64'),
  };
  list.push(
    makeContender(
      'aws-kms',
      'local double, HTTP, same process',
      () =>
        awsKmsMasterKey({
          keyId: aws.keyArn,
          region: FakeAwsKms.PRIMARY_REGION,
          endpoint: aws.endpoint,
          credentials: awsCredentials,
        }),
      () => sum(aws.calls),
    ),
  );

  if (opensslAvailable()) {
    const vault = await FakeAzureKeyVault.start();
    releases.push(() => vault.close());
    const keyId = vault.addRsaKey('nest-kms-bench');
    list.push(
      makeContender(
        'azure-key-vault',
        'local double, HTTPS, same process, RSA-OAEP-256',
        () =>
          azureKeyVaultMasterKey({
            keyId,
            algorithm: 'RSA-OAEP-256',
            credential: vault.credential(),
            clientOptions: vault.clientOptions(),
          }),
        () => sum(vault.calls),
      ),
    );
  } else {
    process.stdout.write('NOTICE: openssl is not on PATH; the azure-key-vault rows are skipped\n');
  }

  if (softHsmAvailable) {
    // Before any provider initialises the library: SoftHSM2 reads its configuration then.
    const hsm = createSoftHsmToken();
    releases.push(() => hsm.cleanup());
    const token = {
      module: hsm.module,
      tokenLabel: hsm.tokenLabel,
      keyLabel: 'master',
      pin: hsm.pin,
    };
    await generatePkcs11MasterKey(token);
    list.push(makeContender('pkcs11', 'SoftHSM2 token, in process', () => pkcs11MasterKey(token)));
  }

  // The same double answering each request after NETWORK_MS, as a real service across a network
  // does: what start-up costs when every unwrap is a round trip. Start-up only.
  const distant = await FakeAwsKms.start();
  releases.push(() => distant.close());
  distant.inject({ kind: 'latency', ms: NETWORK_MS }, Number.MAX_SAFE_INTEGER);
  const network = makeContender(
    'aws-kms, network',
    `local double, ${NETWORK_MS} ms per request`,
    () =>
      awsKmsMasterKey({
        keyId: distant.keyArn,
        region: FakeAwsKms.PRIMARY_REGION,
        endpoint: distant.endpoint,
        credentials: awsCredentials,
      }),
    () => sum(distant.calls),
  );

  return {
    list,
    network,
    release: async () => {
      for (const release of releases.toReversed()) await release();
    },
  };
}

function kmsModule(provider: MasterKeyProvider, database: string) {
  return KmsModule.forRoot({
    masterKey: provider,
    connection: { type: 'better-sqlite3', database },
    // Nothing in the background: no master-key probe, no scheduled lifecycle check (rotation,
    // usage flush, re-encryption), so every provider call below is one the bench made.
    masterKeyCalls: { probeIntervalMs: 0 },
    rotation: { checkIntervalMs: 0 },
  });
}

async function start(contender: Contender, database: string): Promise<KmsApp> {
  const app = await startApp([kmsModule(contender.create(), database)]);
  return { app, kms: app.get(KmsService) };
}

/* ------------------------------------------------------------------------------------------ */
/* 1. Start-up                                                                                  */
/* ------------------------------------------------------------------------------------------ */

type StartScenario = 'new keyring' | 'existing, 1 key' | `existing, ${number} keys`;

interface StartResult {
  /** ms per round, by scenario then provider. */
  readonly ms: Map<StartScenario, Map<ProviderName, number[]>>;
  /** Provider calls of one start, by scenario then provider. */
  readonly callsPerStart: Map<StartScenario, Map<ProviderName, ProviderCalls>>;
}

async function measureStartUp(list: readonly Contender[], dir: string): Promise<StartResult> {
  const existing = new Map<string, string>();
  const scenarios: StartScenario[] = ['new keyring', 'existing, 1 key', `existing, ${KEYS} keys`];
  for (const each of list) {
    for (const keys of [1, KEYS]) {
      const database = join(dir, `${each.name}-${keys}.sqlite`);
      const { app, kms } = await start(each, database);
      for (let rotation = 1; rotation < keys; rotation++) await kms.rotateDataKey('bench');
      await app.close();
      existing.set(`${each.name}/${keys}`, database);
    }
  }
  const databaseOf = (scenario: StartScenario, each: Contender, round: number): string =>
    scenario === 'new keyring'
      ? join(dir, `${each.name}-new-${round}.sqlite`)
      : existing.get(`${each.name}/${scenario === 'existing, 1 key' ? 1 : KEYS}`)!;

  const result: StartResult = { ms: new Map(), callsPerStart: new Map() };
  // Round 0 warms up (module loading, first TLS handshake, JIT) and is not recorded. Within a
  // round the providers start one after another, so a noisy neighbour hits them alike.
  for (let round = 0; round <= ROUNDS; round++) {
    for (const scenario of scenarios) {
      for (const each of inTurn(list, round)) {
        const before = { ...each.calls };
        const started = performance.now();
        const { app, kms } = await start(each, databaseOf(scenario, each, round));
        const elapsed = performance.now() - started;
        const calls = diff(each.calls, before);
        const opened = await kms.decryptData(await kms.encryptData(PAYLOAD), { as: 'buffer' });
        if (!opened.equals(PAYLOAD)) throw new Error(`${each.name}: round trip failed`);
        await app.close();
        if (round === 0) continue;
        push(result.ms, scenario, each.name, elapsed);
        inner(result.callsPerStart, scenario).set(each.name, calls);
      }
    }
  }
  return result;
}

function diff(after: ProviderCalls, before: ProviderCalls): ProviderCalls {
  return {
    fingerprint: after.fingerprint - before.fingerprint,
    wrap: after.wrap - before.wrap,
    unwrap: after.unwrap - before.unwrap,
  };
}

function inner<K, V>(outer: Map<K, Map<ProviderName, V>>, key: K): Map<ProviderName, V> {
  let map = outer.get(key);
  if (map === undefined) outer.set(key, (map = new Map()));
  return map;
}

function push<K>(
  outer: Map<K, Map<ProviderName, number[]>>,
  key: K,
  name: ProviderName,
  value: number,
) {
  const map = inner(outer, key);
  map.set(name, [...(map.get(name) ?? []), value]);
}

/* ------------------------------------------------------------------------------------------ */
/* 2. A data key another replica made, first seen                                               */
/* ------------------------------------------------------------------------------------------ */

interface Replicas {
  readonly writer: KmsApp;
  readonly reader: KmsApp;
}

/**
 * ms of the reader's first decryptData of an envelope under a key the writer has just rotated
 * to: one store read and one unwrap (checked), per repetition; the first repetition warms up.
 */
async function measureKeyLoads(
  list: readonly Contender[],
  replicas: ReadonlyMap<ProviderName, Replicas>,
): Promise<Map<ProviderName, number[]>> {
  const ms = new Map<ProviderName, number[]>();
  for (let repetition = 0; repetition <= KEY_LOADS; repetition++) {
    for (const each of inTurn(list, repetition)) {
      const { writer, reader } = replicas.get(each.name)!;
      await writer.kms.rotateDataKey('bench');
      const envelope = await writer.kms.encryptData(PAYLOAD);
      const unwrapsBefore = each.calls.unwrap;
      const started = performance.now();
      const opened = await reader.kms.decryptData(envelope, { as: 'buffer' });
      const elapsed = performance.now() - started;
      if (!opened.equals(PAYLOAD)) throw new Error(`${each.name}: key load round trip failed`);
      const unwraps = each.calls.unwrap - unwrapsBefore;
      if (unwraps !== 1) throw new Error(`${each.name}: a key load made ${unwraps} unwraps, not 1`);
      if (repetition > 0) ms.set(each.name, [...(ms.get(each.name) ?? []), elapsed]);
    }
  }
  return ms;
}

/* ------------------------------------------------------------------------------------------ */
/* 3. The hot path                                                                              */
/* ------------------------------------------------------------------------------------------ */

const sink: unknown[] = [undefined];

/** ops/s per round of encrypt|<provider> and decrypt|<provider>; throws if a provider was called. */
async function measureHotPath(
  list: readonly Contender[],
  replicas: ReadonlyMap<ProviderName, Replicas>,
): Promise<{ opsPerSecond: Map<string, number[]>; providerCalls: Map<ProviderName, number> }> {
  const fixtures = await Promise.all(
    list.map(async (each) => {
      const { kms } = replicas.get(each.name)!.writer;
      const envelope = await kms.encryptData(PAYLOAD);
      if (!(await kms.decryptData(envelope, { as: 'buffer' })).equals(PAYLOAD)) {
        throw new Error(`${each.name}: hot-path round trip failed`);
      }
      return { each, kms, envelope };
    }),
  );
  const opsPerSecond = new Map<string, number[]>();
  const providerCalls = new Map<ProviderName, number>(list.map((each) => [each.name, 0]));
  const callsOf = (each: Contender) => sum({ ...each.calls }) + (each.serviceRequests?.() ?? 0);
  for (let round = 1; round <= HOT_ROUNDS; round++) {
    const bench = new Bench({
      name: `hot ${round}`,
      time: TIME_MS,
      warmupTime: WARMUP_MS,
      throws: true,
    });
    for (const { each, kms, envelope } of inTurn(fixtures, round)) {
      bench.add(`encrypt|${each.name}`, async () => {
        sink[0] = await kms.encryptData(PAYLOAD);
      });
      bench.add(`decrypt|${each.name}`, async () => {
        sink[0] = await kms.decryptData(envelope, { as: 'buffer' });
      });
    }
    const before = list.map(callsOf);
    const tasks: Task[] = await bench.run();
    list.forEach((each, i) => {
      providerCalls.set(each.name, providerCalls.get(each.name)! + callsOf(each) - before[i]);
    });
    for (const task of tasks) {
      opsPerSecond.set(task.name, [
        ...(opsPerSecond.get(task.name) ?? []),
        1000 / completedResult(task).period,
      ]);
    }
  }
  const called = [...providerCalls].filter(([, count]) => count !== 0);
  if (called.length > 0) {
    throw new Error(
      `the hot path called a provider: ${called.map(([name, n]) => `${name} ${n}`).join(', ')}`,
    );
  }
  return { opsPerSecond, providerCalls };
}

/* ------------------------------------------------------------------------------------------ */
/* 4. The providers' own rates                                                                  */
/* ------------------------------------------------------------------------------------------ */

type CallTask = 'unwrap' | `unwrap, ${number} concurrent` | `unwrap, ${number} instances` | 'wrap';

/** Completed calls per second: `concurrency` callers, each calling again once its call settles. */
async function callsPerSecond(
  concurrency: number,
  call: (caller: number) => Promise<unknown>,
): Promise<number> {
  let completed = 0;
  const started = performance.now();
  const deadline = started + CALL_MS;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, caller) => {
      while (performance.now() < deadline) {
        await call(caller);
        completed++;
      }
    }),
  );
  return completed / ((performance.now() - started) / 1000);
}

/**
 * Calls/s per round of each provider's unwrapDataKey (sequential, 8 concurrent on one instance,
 * and for PKCS#11 8 instances, each with its own handle on the token) and wrapDataKey, outside
 * any app.
 */
async function measureProviderCalls(
  list: readonly Contender[],
): Promise<Map<CallTask, Map<ProviderName, number[]>>> {
  const rates = new Map<CallTask, Map<ProviderName, number[]>>();
  const setups = await Promise.all(
    list.map(async (each) => {
      const providers = Array.from({ length: each.name === 'pkcs11' ? CONCURRENCY : 1 }, () =>
        each.create(),
      );
      const dataKey = randomBytes(32);
      const wrapped = await Promise.all(providers.map((p) => p.wrapDataKey(dataKey, 'dk-bench')));
      for (const [i, provider] of providers.entries()) {
        const unwrapped = await provider.unwrapDataKey(wrapped[i], 'dk-bench');
        if (!unwrapped.equals(dataKey)) throw new Error(`${each.name}: unwrap round trip failed`);
      }
      return { each, providers, dataKey, wrapped };
    }),
  );
  try {
    for (let round = 1; round <= CALL_ROUNDS; round++) {
      for (const { each, providers, dataKey, wrapped } of inTurn(setups, round)) {
        const unwrap = (i: number) =>
          providers[i].unwrapDataKey(wrapped[i], 'dk-bench').then((key) => key.fill(0));
        const tasks: [CallTask, number, (caller: number) => Promise<unknown>][] = [
          ['unwrap', 1, () => unwrap(0)],
          [`unwrap, ${CONCURRENCY} concurrent`, CONCURRENCY, () => unwrap(0)],
          ['wrap', 1, () => providers[0].wrapDataKey(dataKey, 'dk-bench')],
        ];
        if (providers.length > 1)
          tasks.splice(2, 0, [`unwrap, ${CONCURRENCY} instances`, CONCURRENCY, unwrap]);
        for (const [task, concurrency, call] of tasks) {
          const serviceBefore = each.serviceRequests?.() ?? 0;
          const callsBefore = each.calls.wrap + each.calls.unwrap;
          const rate = await callsPerSecond(concurrency, call);
          // A remote provider's every call must reach its service, or the rate is a cache's.
          const reached = (each.serviceRequests?.() ?? 0) - serviceBefore;
          const made = each.calls.wrap + each.calls.unwrap - callsBefore;
          if (each.serviceRequests && reached !== made) {
            throw new Error(`${each.name}: ${made} ${task} calls but ${reached} requests`);
          }
          push(rates, task, each.name, rate);
        }
      }
    }
  } finally {
    for (const { providers } of setups)
      for (const provider of providers) await provider.destroy?.();
  }
  return rates;
}

/* ------------------------------------------------------------------------------------------ */
/* Report                                                                                       */
/* ------------------------------------------------------------------------------------------ */

const ms = (value: number): string => value.toFixed(value < 10 ? 2 : 1);
const ratio = (value: number): string => `${value.toFixed(2)}×`;
const rounds = (values: readonly number[], format: (value: number) => string): string =>
  values.map(format).join(' / ');

function printStartUp(list: readonly Contender[], result: StartResult): void {
  const rows: string[][] = [];
  for (const [scenario, byProvider] of result.ms) {
    const local = median(byProvider.get('local')!);
    for (const each of list) {
      const values = byProvider.get(each.name)!;
      const calls = result.callsPerStart.get(scenario)!.get(each.name)!;
      rows.push([
        `start, ${scenario}`,
        each.name,
        ms(local),
        ms(median(values)),
        ratio(median(values) / local),
        `${calls.fingerprint} / ${calls.wrap} / ${calls.unwrap}`,
        rounds(values, ms),
      ]);
    }
  }
  const one = result.ms.get('existing, 1 key')!;
  const many = result.ms.get(`existing, ${KEYS} keys`)!;
  const perKey = (name: ProviderName) =>
    (median(many.get(name)!) - median(one.get(name)!)) / (KEYS - 1);
  for (const each of list) {
    rows.push([
      `start, per further key`,
      each.name,
      ms(perKey('local')),
      ms(perKey(each.name)),
      '',
      '',
      `(${KEYS} keys − 1 key) ÷ ${KEYS - 1}`,
    ]);
  }
  process.stdout.write(
    `\n1. KmsModule start-up (ms; median of ${ROUNDS} rounds after a warm-up round; SQLite file)\n\n`,
  );
  process.stdout.write(
    alignedTable(
      [
        'operation',
        'provider',
        'local ms',
        'provider ms',
        'ratio',
        'fp / wrap / unwrap',
        'provider ms per round',
      ],
      rows,
      [2, 3, 4],
    ),
  );
}

function printKeyLoads(list: readonly Contender[], loads: Map<ProviderName, number[]>): void {
  const local = median(loads.get('local')!);
  const rows = list.map((each) => {
    const values = loads.get(each.name)!;
    return [
      'first decrypt under a new key',
      each.name,
      ms(local),
      ms(median(values)),
      ratio(median(values) / local),
      `${ms(Math.min(...values))}–${ms(Math.max(...values))}`,
    ];
  });
  process.stdout.write(
    `\n2. Another replica's new data key, first seen (ms; median of ${KEY_LOADS}; one store read + one unwrap, checked)\n\n`,
  );
  process.stdout.write(
    alignedTable(
      ['operation', 'provider', 'local ms', 'provider ms', 'ratio', 'min–max'],
      rows,
      [2, 3, 4, 5],
    ),
  );
}

function printHotPath(
  list: readonly Contender[],
  hot: Awaited<ReturnType<typeof measureHotPath>>,
): void {
  const rows: string[][] = [];
  for (const operation of ['encrypt', 'decrypt'] as const) {
    const local = hot.opsPerSecond.get(`${operation}|local`)!;
    for (const each of list) {
      const values = hot.opsPerSecond.get(`${operation}|${each.name}`)!;
      // Per round (local and provider measured in the same round), then the median.
      const ratios = values.map((ops, i) => ops / local[i]);
      rows.push([
        `${operation} 1 KiB`,
        each.name,
        formatOps(median(local)),
        formatOps(median(values)),
        ratio(median(ratios)),
        String(hot.providerCalls.get(each.name)),
        rounds(values, formatOps),
      ]);
    }
  }
  process.stdout.write(
    `\n3. Hot path, encryptData / decryptData(as: 'buffer') of 1 KiB (ops/s; median of ${HOT_ROUNDS} rounds × ${TIME_MS} ms + ${WARMUP_MS} ms warm-up)\n\n`,
  );
  process.stdout.write(
    alignedTable(
      [
        'operation',
        'provider',
        'local ops/s',
        'provider ops/s',
        'ratio',
        'provider calls',
        'provider ops/s per round',
      ],
      rows,
      [2, 3, 4, 5],
    ),
  );
  process.stdout.write(
    'provider calls = calls reaching the provider (counted wrapper) plus requests reaching its double, before vs after the timed loops: all 0\n',
  );
}

function printProviderCalls(
  list: readonly Contender[],
  rates: Map<CallTask, Map<ProviderName, number[]>>,
): void {
  const rows: string[][] = [];
  const order: CallTask[] = [
    'unwrap',
    `unwrap, ${CONCURRENCY} concurrent`,
    `unwrap, ${CONCURRENCY} instances`,
    'wrap',
  ];
  for (const task of order) {
    for (const each of list) {
      const values = rates.get(task)?.get(each.name);
      if (values === undefined) continue;
      rows.push([task, each.name, each.via, formatOps(median(values)), rounds(values, formatOps)]);
    }
  }
  process.stdout.write(
    `\n4. The providers' own calls (calls/s; median of ${CALL_ROUNDS} rounds × ${CALL_MS} ms; outside any app)\n\n`,
  );
  process.stdout.write(
    alignedTable(
      ['operation', 'provider', 'reached as', 'calls/s', 'calls/s per round'],
      rows,
      [3],
    ),
  );
  process.stdout.write(
    [
      'The aws-kms and azure-key-vault rates are local doubles in this process, not the services: a real',
      'AWS KMS Decrypt typically takes several ms over the network and is subject to a per-account',
      "request quota (see AWS's published quotas); likewise for Key Vault (see Azure's service limits).",
      '',
    ].join('\n'),
  );
}

function printStorm(rates: Map<CallTask, Map<ProviderName, number[]>>): void {
  const sequential = rates.get('unwrap')?.get('pkcs11');
  const instances = rates.get(`unwrap, ${CONCURRENCY} instances`)?.get('pkcs11');
  if (sequential === undefined || instances === undefined) return;
  const [seqRate, parallelRate] = [median(sequential), median(instances)];
  const rows = STORM_KEYS.map((keys) => {
    const perReplica = keys + 1;
    const total = STORM_REPLICAS * perReplica;
    return [
      String(keys),
      String(total),
      `${(total / seqRate).toFixed(2)} s`,
      `${(total / parallelRate).toFixed(2)} s`,
      `${((perReplica / seqRate) * 1000).toFixed(1)} ms`,
    ];
  });
  process.stdout.write(
    `\nKey-load storm: ${STORM_REPLICAS} replicas start at once, each unwrapping K data keys + the index root key, one after another (SoftHSM2 rates above: ${formatOps(seqRate)} unwraps/s on one instance, ${formatOps(parallelRate)}/s over ${CONCURRENCY} instances)\n\n`,
  );
  process.stdout.write(
    alignedTable(
      [
        'K',
        'unwraps',
        'at 1-instance rate',
        `at ${CONCURRENCY}-instance rate`,
        'one replica alone',
      ],
      rows,
      [0, 1, 2, 3, 4],
    ),
  );
}

async function main(): Promise<void> {
  printMachine(
    `rounds: start-up ${ROUNDS}, key loads ${KEY_LOADS}, hot path ${HOT_ROUNDS} × ${TIME_MS} ms, provider calls ${CALL_ROUNDS} × ${CALL_MS} ms`,
  );
  const { database, remove } = createBenchSqliteFile();
  const dir = dirname(database);
  const { list, network, release } = await contenders();
  const opened: KmsApp[] = [];
  try {
    process.stdout.write(
      `providers: ${list.map((each) => `${each.name} (${each.via})`).join(', ')}\n`,
    );
    const began = performance.now();
    const startUp = await measureStartUp([...list, network], dir);
    printStartUp([...list, network], startUp);

    const replicas = new Map<ProviderName, Replicas>();
    for (const each of list) {
      const shared = join(dir, `${each.name}-replicas.sqlite`);
      const writer = await start(each, shared);
      opened.push(writer);
      const reader = await start(each, shared);
      opened.push(reader);
      replicas.set(each.name, { writer, reader });
    }
    printKeyLoads(list, await measureKeyLoads(list, replicas));
    for (const { reader } of replicas.values()) await reader.app.close();
    printHotPath(list, await measureHotPath(list, replicas));
    for (const { writer } of replicas.values()) await writer.app.close();
    opened.length = 0;

    const rates = await measureProviderCalls(list);
    printProviderCalls(list, rates);
    printStorm(rates);
    process.stdout.write(`\ndone in ${((performance.now() - began) / 1000).toFixed(1)} s\n`);
  } finally {
    for (const { app } of opened) await app.close().catch(() => undefined);
    await release();
    remove();
  }
}

await main();
