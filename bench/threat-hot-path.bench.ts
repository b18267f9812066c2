/**
 * The hot-path cost of threat detection on a cached getSecret: the same read (a cache hit, with
 * an actor) in an application without ThreatDetectionModule, with it and nobody blocked, and
 * with it and 1,000 other actors blocked, beside the floor (an awaited Map lookup), in one
 * process on embedded SQLite.
 *
 *   node dist/bench/bench/threat-hot-path.bench.js   (after `nest build bench`; about 30 s)
 *   BENCH_ROUNDS=1000 BENCH_ITERATIONS=400           (defaults 300, 400)
 *
 * Method: per round, each task runs its iterations in a tight async loop, timed as a whole with
 * performance.now(); the order of the tasks rotates every round. Between tasks the buffered
 * audit records are written and sealed (outside the timing), as the background jobs would; a
 * round's reads stay under the 500 records that start a write inside the loop.
 * Reported: the median over rounds of ns per read, and of each round's ratio. Not a test.
 */
import 'reflect-metadata';
import type { INestApplicationContext } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { randomBytes } from 'node:crypto';
import { KmsModule } from '@nest-kms/kms';
import { ActorBlocklist } from '@nest-kms/kms/extension';
import { SecretsAuditTrail, SecretsModule, SecretsService } from '@nest-kms/secrets';
import { ThreatDetectionModule } from '@nest-kms/threat-detection';
import {
  alignedTable,
  createBenchSqliteFile,
  median,
  positiveInt,
  printMachine,
  startApp,
} from './bench-support.js';

const ROUNDS = positiveInt('BENCH_ROUNDS', 300);
/** Fewer than the 500 buffered records that start a background audit write mid-loop. */
const ITERATIONS = positiveInt('BENCH_ITERATIONS', 400);
const NAME = 'payments/api-key';
const VALUE = randomBytes(24).toString('base64');
const ACTOR = 'billing-service';
const sink: unknown[] = [];

interface Task {
  readonly name: string;
  run(): Promise<void>;
  /** Between rounds: the audit buffer written and sealed, off the clock. */
  settle(): Promise<void>;
  readonly nsPerRead: number[];
}

async function startReader(withDetection: boolean): Promise<INestApplicationContext> {
  const file = createBenchSqliteFile();
  return startApp([
    KmsModule.forRoot({
      masterKey: randomBytes(32).toString('base64'),
      connection: { type: 'better-sqlite3', database: file.database },
    }),
    SecretsModule.forRoot(),
    ...(withDetection
      ? [EventEmitterModule.forRoot(), ThreatDetectionModule.forRoot({ intervalMs: 0 })]
      : []),
  ]);
}

function readerTask(name: string, app: INestApplicationContext): Task {
  const secrets = app.get(SecretsService);
  const trail = app.get(SecretsAuditTrail);
  return {
    name,
    nsPerRead: [],
    run: async () => {
      for (let i = 0; i < ITERATIONS; i++)
        sink[0] = await secrets.getSecret(NAME, { actor: ACTOR });
    },
    settle: async () => {
      await trail.seal();
    },
  };
}

async function main(): Promise<void> {
  process.stdout.write('\nThreat detection on the hot path: a cached getSecret with an actor\n');
  printMachine(`${ITERATIONS} reads per task per round, ${ROUNDS} rounds, embedded SQLite`);
  if (ITERATIONS >= 500) throw new Error('BENCH_ITERATIONS must stay under 500 (see Method)');
  const plain = await startReader(false);
  const detecting = await startReader(true);
  const blocking = await startReader(true);
  try {
    for (const app of [plain, detecting, blocking]) {
      const secrets = app.get(SecretsService);
      await secrets.setSecret(NAME, VALUE);
      if ((await secrets.getSecret(NAME, { actor: ACTOR })) !== VALUE) {
        throw new Error('getSecret did not return the value');
      }
    }
    const blocklist = blocking.get(ActorBlocklist);
    for (let i = 0; i < 1_000; i++) blocklist.block(`blocked-actor-${i}`, Date.now() + 3_600_000);

    const map = new Map([[NAME, { value: VALUE }]]);
    const floor: Task = {
      name: 'floor: awaited Map.get',
      nsPerRead: [],
      run: async () => {
        const read = async () => map.get(NAME)?.value;
        for (let i = 0; i < ITERATIONS; i++) sink[0] = await read();
      },
      settle: async () => undefined,
    };
    const tasks = [
      floor,
      readerTask('getSecret, no threat detection', plain),
      readerTask('getSecret, threat detection, none blocked', detecting),
      readerTask('getSecret, threat detection, 1,000 others blocked', blocking),
    ];
    // Warm-up: every path compiled before the first timed round.
    for (const task of tasks) {
      await task.run();
      await task.settle();
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (let k = 0; k < tasks.length; k++) {
        const task = tasks[(round + k) % tasks.length];
        const started = performance.now();
        await task.run();
        task.nsPerRead.push(((performance.now() - started) * 1e6) / ITERATIONS);
        await task.settle();
      }
    }
    const [, baseline] = tasks;
    const rows = tasks.map((task) => [
      task.name,
      median(task.nsPerRead).toFixed(0),
      `${median(task.nsPerRead.map((ns, i) => ns / floor.nsPerRead[i])).toFixed(2)}×`,
      task === floor
        ? ''
        : `${median(task.nsPerRead.map((ns, i) => ns / baseline.nsPerRead[i])).toFixed(3)}×`,
      `${Math.min(...task.nsPerRead).toFixed(0)}–${Math.max(...task.nsPerRead).toFixed(0)}`,
    ]);
    process.stdout.write(
      alignedTable(
        ['task', 'ns/read (median)', '× floor', '× no detection', 'ns/read min–max'],
        rows,
        [1, 2, 3, 4],
      ),
    );
  } finally {
    for (const app of [plain, detecting, blocking]) await app.close();
  }
}

void main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
