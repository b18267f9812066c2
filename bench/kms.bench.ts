/**
 * KmsService.encryptData / decryptData against the floor: raw node:crypto AES-256-GCM on the same
 * payload sizes, measured side by side in the same process and the same round.
 *
 *   npm run bench                       (builds bench/ with `nest build bench`, then runs)
 *   BENCH_TIME_MS=2000 BENCH_ROUNDS=7 npm run bench   (defaults: 800 ms per task, 5 rounds, ~65 s)
 *
 * Not a test: nothing here asserts on time. The only checks are that each operation round-trips,
 * so a broken build cannot produce a flattering number.
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import {
  alignedTable,
  completedResult,
  envelopeHeaderBytes,
  formatOps,
  median,
  positiveInt,
  printMachine,
  rawGcmOpen,
  rawGcmSeal,
  startApp,
} from './bench-support.js';
import { Bench, type Task } from 'tinybench';
import { KmsModule, KmsService, type EnvelopeV1 } from '@nest-kms/kms';

const SIZES = [
  { label: '32 B', bytes: 32 },
  { label: '1 KiB', bytes: 1024 },
  { label: '64 KiB', bytes: 64 * 1024 },
] as const;
type SizeLabel = (typeof SIZES)[number]['label'];
type Operation = 'encrypt' | 'decrypt';
type Implementation = 'floor' | 'kms';

/** The target we hold envelopes to: at 1 KiB, KMS ops/s at least this share of the floor's, both directions. */
const TARGET_RATIO = 0.6;
const TARGET_SIZE: SizeLabel = '1 KiB';

const TIME_MS = positiveInt('BENCH_TIME_MS', 800);
const WARMUP_MS = positiveInt('BENCH_WARMUP_MS', 200);
const ROUNDS = positiveInt('BENCH_ROUNDS', 5);

interface Row {
  operation: Operation;
  implementation: Implementation;
  size: SizeLabel;
  /** ops/s of each round: 1000 / mean latency (ms), i.e. iterations ÷ measured time. */
  opsPerSecond: number[];
  p50Ms: number[];
  p99Ms: number[];
  samples: number[];
}

const sink: unknown[] = [undefined];

async function main(): Promise<void> {
  printMachine(
    `payloads: ${SIZES.map((s) => s.label).join(', ')}; KMS without caller AAD, decrypt { as: 'buffer' }`,
  );

  const app = await startApp([
    KmsModule.forRoot({
      masterKey: randomBytes(32).toString('base64'),
      connection: { type: 'better-sqlite3', database: ':memory:' },
    }),
  ]);
  try {
    const kms = app.get(KmsService);
    const status = kms.getStatus();
    if (!status.initialized || status.activeKeyId === null) {
      throw new Error('KmsService did not initialize');
    }

    // The floor authenticates as many AAD bytes as the KMS header does for an envelope without
    // caller AAD, so both sides hash the same amount of additional data.
    const floorKey = randomBytes(32);
    const floorAad = randomBytes(envelopeHeaderBytes(status.activeKeyId));

    const rows = new Map<string, Row>();
    const fixtures = await Promise.all(
      SIZES.map(async (size) => {
        const payload = randomBytes(size.bytes);
        const envelope: EnvelopeV1 = await kms.encryptData(payload);
        const sealed = rawGcmSeal(floorKey, payload, floorAad);
        // Round-trip checks: a wrong result would make every figure below meaningless.
        const opened = await kms.decryptData(envelope, { as: 'buffer' });
        if (!opened.equals(payload)) throw new Error(`KMS round trip failed at ${size.label}`);
        if (!rawGcmOpen(floorKey, sealed, floorAad).equals(payload)) {
          throw new Error(`floor round trip failed at ${size.label}`);
        }
        return { size, payload, envelope, sealed };
      }),
    );

    for (let round = 1; round <= ROUNDS; round++) {
      const bench = new Bench({
        name: `round ${round}`,
        time: TIME_MS,
        warmupTime: WARMUP_MS,
        throws: true,
      });
      // Per size, each KMS task runs right after its floor, so a noisy neighbour hits both alike.
      for (const { size, payload, envelope, sealed } of fixtures) {
        bench.add(
          taskName('encrypt', 'floor', size.label),
          () => {
            sink[0] = rawGcmSeal(floorKey, payload, floorAad);
          },
          { async: false },
        );
        bench.add(
          taskName('encrypt', 'kms', size.label),
          async () => {
            sink[0] = await kms.encryptData(payload);
          },
          { async: true },
        );
        bench.add(
          taskName('decrypt', 'floor', size.label),
          () => {
            sink[0] = rawGcmOpen(floorKey, sealed, floorAad);
          },
          { async: false },
        );
        bench.add(
          taskName('decrypt', 'kms', size.label),
          async () => {
            sink[0] = await kms.decryptData(envelope, { as: 'buffer' });
          },
          { async: true },
        );
      }
      const started = performance.now();
      const tasks = await bench.run();
      process.stdout.write(
        `round ${round}/${ROUNDS} done in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
      );
      for (const task of tasks) record(rows, task);
    }

    printTable(rows);
  } finally {
    await app.close();
  }
}

function taskName(operation: Operation, implementation: Implementation, size: SizeLabel): string {
  return `${operation}|${implementation}|${size}`;
}

function record(rows: Map<string, Row>, task: Task): void {
  const result = completedResult(task);
  const [operation, implementation, size] = task.name.split('|') as [
    Operation,
    Implementation,
    SizeLabel,
  ];
  let row = rows.get(task.name);
  if (row === undefined) {
    row = { operation, implementation, size, opsPerSecond: [], p50Ms: [], p99Ms: [], samples: [] };
    rows.set(task.name, row);
  }
  row.opsPerSecond.push(1000 / result.period);
  row.p50Ms.push(result.latency.p50);
  row.p99Ms.push(result.latency.p99);
  row.samples.push(result.latency.samplesCount);
}

function printTable(rows: Map<string, Row>): void {
  const header = [
    'operation',
    'impl',
    'size',
    'ops/s',
    'ratio',
    'ratio min–max',
    'p50 ratio',
    'p50 µs',
    'p99 µs',
    'ops/s per round',
  ];
  const lines: string[][] = [];
  const verdicts: string[] = [];
  for (const operation of ['encrypt', 'decrypt'] as const) {
    for (const { label } of SIZES) {
      const floor = rows.get(taskName(operation, 'floor', label));
      const kms = rows.get(taskName(operation, 'kms', label));
      if (floor === undefined || kms === undefined) continue;
      // Ratio per round (floor and KMS measured back to back), then the median of the rounds.
      const ratios = kms.opsPerSecond.map((ops, i) => ops / floor.opsPerSecond[i]);
      for (const row of [floor, kms]) {
        const isKms = row === kms;
        lines.push([
          operation,
          isKms ? 'KmsService' : 'floor',
          label,
          formatOps(median(row.opsPerSecond)),
          isKms ? `${(median(ratios) * 100).toFixed(1)} %` : '100 %',
          isKms
            ? `${(Math.min(...ratios) * 100).toFixed(1)}–${(Math.max(...ratios) * 100).toFixed(1)} %`
            : '',
          isKms ? `${((median(floor.p50Ms) / median(kms.p50Ms)) * 100).toFixed(1)} %` : '',
          (median(row.p50Ms) * 1000).toFixed(2),
          (median(row.p99Ms) * 1000).toFixed(2),
          row.opsPerSecond.map(formatOps).join(' / '),
        ]);
      }
      if (label === TARGET_SIZE) {
        const ratio = median(ratios);
        verdicts.push(
          `${operation} at ${label}: ${(ratio * 100).toFixed(1)} % of the floor (target ≥ ${TARGET_RATIO * 100} %): ${ratio >= TARGET_RATIO ? 'MET' : 'NOT MET'}`,
        );
      }
    }
  }
  process.stdout.write(
    `\nmedian of ${ROUNDS} round(s), ${TIME_MS} ms per task per round (+${WARMUP_MS} ms warm-up)\n`,
  );
  process.stdout.write(
    [
      'ops/s = iterations ÷ measured time (1 / mean latency); ratio = KmsService ops/s ÷ floor',
      'ops/s, per round, then the median (min–max over rounds); p50 ratio = floor p50 ÷ KMS p50',
      '',
      '',
    ].join('\n'),
  );
  process.stdout.write(alignedTable(header, lines, [3, 4, 5, 6, 7, 8]));
  process.stdout.write(`\n${verdicts.join('\n')}\n`);
}

await main();
