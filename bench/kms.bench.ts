/**
 * KmsService.encryptData / decryptData against the floor: raw node:crypto AES-256-GCM on the same
 * payload sizes, measured side by side in the same process and the same round.
 *
 *   npm run bench                       (builds bench/ with `nest build bench`, then runs)
 *   BENCH_TIME_MS=2000 BENCH_ROUNDS=7 npm run bench   (defaults: 800 ms per task, 5 rounds)
 *   BENCH_OPERATIONS=decrypt ...        (only one direction)
 *
 * Decryption is measured for both envelope forms (object and compact string), without and with
 * caller AAD, through decryptData and decryptDataSync. Its floor opens the very same bytes: the
 * envelope's data key (unwrapped from the keyring export as docs/envelope-format.md describes),
 * IV, tag and ciphertext, with the header the library authenticates, built from the document;
 * so the only difference is what KMS adds.
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
  type RawGcmSealed,
} from './bench-support.js';
import { Bench, type Task } from 'tinybench';
import { KmsModule, KmsService, type EnvelopeV1 } from '@nest-kms/kms';
import {
  documentedHeader,
  documentedUnwrap,
  fromCompactForm,
  fromObjectForm,
} from '../test/support/documented-envelopes.js';

const SIZES = [
  { label: '32 B', bytes: 32 },
  { label: '1 KiB', bytes: 1024 },
  { label: '64 KiB', bytes: 64 * 1024 },
] as const;
type SizeLabel = (typeof SIZES)[number]['label'];
/** Decryption's variants run at these sizes; 64 KiB only in the object form without AAD. */
const VARIANT_SIZES: readonly SizeLabel[] = ['32 B', '1 KiB'];
type Operation = 'encrypt' | 'decrypt';
type Implementation = 'floor' | 'kms' | 'kms-sync';
type Form = 'object' | 'compact';

/** The caller AAD of the "with AAD" variants: the README's shape, one map entry. */
const CALLER_AAD = { userId: 'u-4f0c2a9e' } as const;

/** Targets: at these sizes, KMS ops/s at least this share of the floor's. */
const TARGETS: readonly { operation: Operation; ratio: number; sizes: readonly SizeLabel[] }[] = [
  { operation: 'encrypt', ratio: 0.6, sizes: ['1 KiB'] },
  { operation: 'decrypt', ratio: 0.8, sizes: VARIANT_SIZES },
];

const TIME_MS = positiveInt('BENCH_TIME_MS', 800);
const WARMUP_MS = positiveInt('BENCH_WARMUP_MS', 200);
const ROUNDS = positiveInt('BENCH_ROUNDS', 5);
const OPERATIONS = operationsToRun(process.env.BENCH_OPERATIONS);

interface Row {
  operation: Operation;
  variant: string;
  implementation: Implementation;
  size: SizeLabel;
  /** ops/s of each round: 1000 / mean latency (ms), i.e. iterations ÷ measured time. */
  opsPerSecond: number[];
  p50Ms: number[];
  p99Ms: number[];
}

interface DecryptFixture {
  size: SizeLabel;
  variant: string;
  envelope: EnvelopeV1 | string;
  withAad: boolean;
  /** The same IV, tag and ciphertext, the same data key, and the header KMS authenticates. */
  floor: { key: Buffer; sealed: RawGcmSealed; header: Buffer };
}

const sink: unknown[] = [undefined];

async function main(): Promise<void> {
  printMachine(
    `payloads: ${SIZES.map((s) => s.label).join(', ')}; encrypt without caller AAD; decrypt { as: 'buffer' }, object and compact forms, without and with caller AAD ${JSON.stringify(CALLER_AAD)}`,
  );

  const masterKey = randomBytes(32);
  const app = await startApp([
    KmsModule.forRoot({
      masterKey: masterKey.toString('base64'),
      connection: { type: 'better-sqlite3', database: ':memory:' },
    }),
  ]);
  try {
    const kms = app.get(KmsService);
    const status = kms.getStatus();
    if (!status.initialized || status.activeKeyId === null) {
      throw new Error('KmsService did not initialize');
    }
    const exported = (await kms.exportKeyring()).dataKeys.find(
      (key) => key.id === status.activeKeyId,
    );
    if (exported === undefined) throw new Error('the active key is not in the export');
    const dataKey = documentedUnwrap(masterKey, exported.id, exported.wrappedKey);

    // The encrypt floor authenticates as many AAD bytes as the KMS header does for an envelope
    // without caller AAD, so both sides hash the same amount of additional data.
    const floorKey = randomBytes(32);
    const floorAad = randomBytes(envelopeHeaderBytes(status.activeKeyId));

    const payloads = new Map(SIZES.map((size) => [size.label, randomBytes(size.bytes)]));
    const decryptFixtures: DecryptFixture[] = [];
    for (const { label } of SIZES) {
      const payload = payloads.get(label)!;
      if (
        !rawGcmOpen(floorKey, rawGcmSeal(floorKey, payload, floorAad), floorAad).equals(payload)
      ) {
        throw new Error(`encrypt floor round trip failed at ${label}`);
      }
      const variants: [Form, boolean][] = VARIANT_SIZES.includes(label)
        ? [
            ['object', false],
            ['compact', false],
            ['object', true],
            ['compact', true],
          ]
        : [['object', false]];
      for (const [form, withAad] of variants) {
        decryptFixtures.push(await decryptFixture(kms, dataKey, payload, label, form, withAad));
      }
    }

    const rows = new Map<string, Row>();
    for (let round = 1; round <= ROUNDS; round++) {
      const bench = new Bench({
        name: `round ${round}`,
        time: TIME_MS,
        warmupTime: WARMUP_MS,
        throws: true,
      });
      // Each KMS task runs right after its floor, so a noisy neighbour hits both alike.
      if (OPERATIONS.includes('encrypt')) {
        for (const { label } of SIZES) {
          const payload = payloads.get(label)!;
          bench.add(
            taskName('encrypt', '', 'floor', label),
            () => {
              sink[0] = rawGcmSeal(floorKey, payload, floorAad);
            },
            { async: false },
          );
          bench.add(
            taskName('encrypt', '', 'kms', label),
            async () => {
              sink[0] = await kms.encryptData(payload);
            },
            { async: true },
          );
        }
      }
      if (OPERATIONS.includes('decrypt')) {
        for (const { size, variant, envelope, withAad, floor } of decryptFixtures) {
          bench.add(
            taskName('decrypt', variant, 'floor', size),
            () => {
              sink[0] = rawGcmOpen(floor.key, floor.sealed, floor.header);
            },
            { async: false },
          );
          bench.add(
            taskName('decrypt', variant, 'kms', size),
            // The promise itself, which tinybench awaits: the one await every caller pays. An async
            // wrapper awaiting it would time a second promise and await that no caller needs.
            withAad
              ? () => kms.decryptData(envelope, { aad: CALLER_AAD, as: 'buffer' })
              : () => kms.decryptData(envelope, { as: 'buffer' }),
            { async: true },
          );
          bench.add(
            taskName('decrypt', variant, 'kms-sync', size),
            withAad
              ? () => {
                  sink[0] = kms.decryptDataSync(envelope, { aad: CALLER_AAD, as: 'buffer' });
                }
              : () => {
                  sink[0] = kms.decryptDataSync(envelope, { as: 'buffer' });
                },
            { async: false },
          );
        }
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

/**
 * An envelope of `payload` in `form`, and its floor: the same bytes opened by node:crypto alone.
 * Both are round-tripped first; the floor's success also proves its header is byte for byte
 * the one KMS authenticates (the tag would not verify otherwise).
 */
async function decryptFixture(
  kms: KmsService,
  dataKey: Buffer,
  payload: Buffer,
  size: SizeLabel,
  form: Form,
  withAad: boolean,
): Promise<DecryptFixture> {
  const options = withAad ? { aad: CALLER_AAD } : {};
  const envelope =
    form === 'object'
      ? await kms.encryptData(payload, options)
      : await kms.encryptToString(payload, options);
  const opened = await kms.decryptData(envelope, { ...options, as: 'buffer' });
  const variant = `${form}${withAad ? ', AAD' : ''}`;
  if (!opened.equals(payload)) throw new Error(`KMS round trip failed at ${size} ${variant}`);
  const fields =
    typeof envelope === 'string' ? fromCompactForm(envelope) : fromObjectForm(envelope);
  const floor = {
    key: dataKey,
    sealed: { iv: fields.iv, tag: fields.tag, ciphertext: fields.ciphertext },
    header: documentedHeader(fields),
  };
  if (!rawGcmOpen(floor.key, floor.sealed, floor.header).equals(payload)) {
    throw new Error(`floor round trip failed at ${size} ${variant}`);
  }
  return { size, variant, envelope, withAad, floor };
}

function operationsToRun(raw: string | undefined): readonly Operation[] {
  if (raw === undefined || raw === '') return ['encrypt', 'decrypt'];
  const names = raw.split(',');
  for (const name of names) {
    if (name !== 'encrypt' && name !== 'decrypt') {
      throw new Error(`BENCH_OPERATIONS must list encrypt and/or decrypt (got "${raw}")`);
    }
  }
  return names as Operation[];
}

function taskName(
  operation: Operation,
  variant: string,
  implementation: Implementation,
  size: SizeLabel,
): string {
  return `${operation}|${variant}|${implementation}|${size}`;
}

function record(rows: Map<string, Row>, task: Task): void {
  const result = completedResult(task);
  const [operation, variant, implementation, size] = task.name.split('|') as [
    Operation,
    string,
    Implementation,
    SizeLabel,
  ];
  let row = rows.get(task.name);
  if (row === undefined) {
    row = { operation, variant, implementation, size, opsPerSecond: [], p50Ms: [], p99Ms: [] };
    rows.set(task.name, row);
  }
  row.opsPerSecond.push(1000 / result.period);
  row.p50Ms.push(result.latency.p50);
  row.p99Ms.push(result.latency.p99);
}

function printTable(rows: Map<string, Row>): void {
  const header = [
    'operation',
    'variant',
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
  for (const row of rows.values()) {
    if (row.implementation === 'floor') continue;
    const floor = rows.get(taskName(row.operation, row.variant, 'floor', row.size));
    if (floor === undefined) continue;
    // Ratio per round (floor and KMS measured back to back), then the median of the rounds.
    const ratios = row.opsPerSecond.map((ops, i) => ops / floor.opsPerSecond[i]);
    // The floor's line once, before its first KmsService line.
    const shownRows = row.implementation === 'kms' ? [floor, row] : [row];
    for (const shown of shownRows) {
      const isKms = shown === row;
      lines.push([
        row.operation,
        row.variant || '–',
        isKms ? IMPLEMENTATION_LABELS[row.implementation] : 'floor',
        row.size,
        formatOps(median(shown.opsPerSecond)),
        isKms ? percent(median(ratios)) : '100 %',
        isKms ? `${percent(Math.min(...ratios), '')}–${percent(Math.max(...ratios))}` : '',
        isKms ? percent(median(floor.p50Ms) / median(row.p50Ms)) : '',
        (median(shown.p50Ms) * 1000).toFixed(2),
        (median(shown.p99Ms) * 1000).toFixed(2),
        shown.opsPerSecond.map(formatOps).join(' / '),
      ]);
    }
    const target = TARGETS.find((t) => t.operation === row.operation && t.sizes.includes(row.size));
    if (target !== undefined) {
      const ratio = median(ratios);
      verdicts.push(
        `${IMPLEMENTATION_LABELS[row.implementation]} ${row.operation} ${row.variant ? `${row.variant} ` : ''}at ${row.size}: ${percent(ratio)} of the floor, p50 ${percent(median(floor.p50Ms) / median(row.p50Ms))} (target ≥ ${target.ratio * 100} %): ${ratio >= target.ratio ? 'MET' : 'NOT MET'}`,
      );
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
  process.stdout.write(alignedTable(header, lines, [4, 5, 6, 7, 8, 9]));
  process.stdout.write(`\n${verdicts.join('\n')}\n`);
}

const IMPLEMENTATION_LABELS: Record<Implementation, string> = {
  floor: 'floor',
  kms: 'KmsService',
  'kms-sync': 'KmsService sync',
};

function percent(ratio: number, unit = ' %'): string {
  return `${(ratio * 100).toFixed(1)}${unit}`;
}

await main();
