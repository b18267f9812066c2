/**
 * Batches against loops: KmsService.encryptMany / decryptMany of 100 × 1 KiB against a loop of
 * 100 awaited encryptData / decryptData calls on the same payloads, in the same process and
 * round; and decryptDataSync against decryptData (one envelope).
 *
 *   npm run build:packages && nest build bench && node dist/bench/bench/kms-batch.bench.js
 *   BENCH_TIME_MS=2000 BENCH_ROUNDS=7 ...   (defaults: 800 ms per task, 5 rounds)
 *
 * The find() of 1,000 rows with encrypted columns against a plain entity (its floor) is
 * bench/columns.bench.ts's load: those rows open through the same batch path.
 *
 * Not a test: nothing here asserts on time. Each task's output is checked once before timing.
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { Bench } from 'tinybench';
import { KmsModule, KmsService, type EnvelopeV1 } from '@nest-kms/kms';
import {
  alignedTable,
  completedResult,
  median,
  positiveInt,
  printMachine,
  startApp,
} from './bench-support.js';

const ITEMS = 100;
const TIME_MS = positiveInt('BENCH_TIME_MS', 800);
const WARMUP_MS = positiveInt('BENCH_WARMUP_MS', 200);
const ROUNDS = positiveInt('BENCH_ROUNDS', 5);

/** Pairs measured back to back: the batch (or sync) task, then what it replaces. */
const PAIRS = [
  ['encryptMany', 'encryptData loop'],
  ['decryptMany', 'decryptData loop'],
  ['decryptDataSync', 'decryptData'],
] as const;

let sink: unknown;

async function main(): Promise<void> {
  printMachine(`${ITEMS} items of 1 KiB per batch; decrypt { as: 'buffer' }, object form`);
  const app = await startApp([
    KmsModule.forRoot({
      masterKey: randomBytes(32).toString('base64'),
      connection: { type: 'better-sqlite3', database: ':memory:' },
    }),
  ]);
  try {
    const kms = app.get(KmsService);
    const payloads = Array.from({ length: ITEMS }, () => randomBytes(1024));
    const envelopes: EnvelopeV1[] = [];
    for (const payload of payloads) envelopes.push(await kms.encryptData(payload));
    const opened = await kms.decryptMany(envelopes, { as: 'buffer' });
    const sealed = await kms.encryptMany(payloads);
    if (!opened.every((result, at) => result.ok && result.value.equals(payloads[at]))) {
      throw new Error('decryptMany did not round-trip');
    }
    if (!sealed.every((result) => result.ok)) throw new Error('encryptMany failed an item');
    if (!kms.decryptDataSync(envelopes[0], { as: 'buffer' }).equals(payloads[0])) {
      throw new Error('decryptDataSync did not round-trip');
    }

    const ratios = new Map<string, number[]>();
    const periods = new Map<string, number[]>();
    for (let round = 1; round <= ROUNDS; round++) {
      const bench = new Bench({ time: TIME_MS, warmupTime: WARMUP_MS, throws: true });
      bench.add('encryptMany', async () => {
        sink = await kms.encryptMany(payloads);
      });
      bench.add('encryptData loop', async () => {
        for (const payload of payloads) sink = await kms.encryptData(payload);
      });
      bench.add('decryptMany', async () => {
        sink = await kms.decryptMany(envelopes, { as: 'buffer' });
      });
      bench.add('decryptData loop', async () => {
        for (const envelope of envelopes) sink = await kms.decryptData(envelope, { as: 'buffer' });
      });
      bench.add('decryptDataSync', () => {
        sink = kms.decryptDataSync(envelopes[0], { as: 'buffer' });
      });
      bench.add('decryptData', async () => {
        sink = await kms.decryptData(envelopes[0], { as: 'buffer' });
      });
      for (const task of await bench.run()) {
        const list = periods.get(task.name) ?? [];
        list.push(completedResult(task).period);
        periods.set(task.name, list);
      }
      for (const [fast, slow] of PAIRS) {
        const list = ratios.get(fast) ?? [];
        list.push(periods.get(slow)!.at(-1)! / periods.get(fast)!.at(-1)!);
        ratios.set(fast, list);
      }
      process.stdout.write(`round ${round}/${ROUNDS} done\n`);
    }
    const lines = PAIRS.flatMap(([fast, slow]) => {
      const perItem = (name: string) =>
        (
          (median(periods.get(name)!) * 1000) /
          (name.includes('loop') || name.endsWith('Many') ? ITEMS : 1)
        ).toFixed(2);
      const speedups = ratios.get(fast)!;
      return [
        [
          fast,
          perItem(fast),
          `${median(speedups).toFixed(2)}×`,
          `${Math.min(...speedups).toFixed(2)}–${Math.max(...speedups).toFixed(2)}×`,
        ],
        [slow, perItem(slow), '1×', ''],
      ];
    });
    process.stdout.write(
      `\nmedian of ${ROUNDS} round(s), ${TIME_MS} ms per task; speed-up = the other's mean time ÷ this one's, per round\n\n`,
    );
    process.stdout.write(
      alignedTable(['task', 'µs per item', 'speed-up', 'min–max'], lines, [1, 2]),
    );
  } finally {
    void sink;
    await app.close();
  }
}

await main();
