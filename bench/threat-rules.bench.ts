/**
 * The threat rules on the synthetic traces (libs/threat-detection/src/traces): which attack each
 * rule catches and how long after the attack's first record, how close the benign trace comes
 * to each threshold, and how many records per second the rules take, against a floor.
 *
 *   npm run build:packages && nest build bench && node dist/bench/bench/threat-rules.bench.js
 *   BENCH_ROUNDS=7                    (default 5 rounds of the whole benign trace)
 *
 * Throughput: each round feeds the benign trace (≥ 100,000 records, several days of trail) to
 * new rules with the default settings, and, side by side in the same round, to the floor: a bare
 * Map counting records per actor (the least any per-actor rule does). The median of the rounds
 * is reported, and their ratio. Headroom: for each threshold, the highest value at which the
 * benign trace still gives a finding of that rule (binary search, one rule changed at a time).
 *
 * Not a test: nothing here asserts on time. The check is that the benign trace gives no finding
 * and every attack is found with the default settings, so a broken build cannot print a table.
 */
import { performance } from 'node:perf_hooks';
import {
  resolveThreatRules,
  ThreatRules,
  type RecordFacts,
  type ThreatRulesOptions,
} from '@nest-kms/threat-detection';
// oxlint-disable-next-line no-restricted-imports -- the synthetic traces are test material the package does not ship
import {
  attackTraces,
  benignTrace,
  detectAttack,
  runTrace,
  type Trace,
} from '../libs/threat-detection/src/traces/threat-traces.js';
import { alignedTable, formatOps, median, positiveInt, printMachine } from './bench-support.js';

const ROUNDS = positiveInt('BENCH_ROUNDS', 5);
const settings = resolveThreatRules(undefined);

function formatDelay(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}

function detectionTable(): string {
  const rows = attackTraces().map((trace) => {
    const detection = detectAttack(trace, settings);
    if (detection.finding === undefined || detection.unrelated.length > 0) {
      throw new Error(`${trace.name}: not found by ${trace.rule}, or other findings`);
    }
    return [
      trace.name,
      trace.rule,
      'yes',
      formatDelay(detection.delayMs),
      formatOps(trace.attackRecords),
      formatOps(detection.records),
      String(detection.findings.length),
    ];
  });
  return alignedTable(
    ['trace', 'rule', 'detected', 'delay', 'attack records', 'records', 'findings'],
    rows,
    [3, 4, 5, 6],
  );
}

function throughput(trace: Trace): string {
  const facts: RecordFacts[] = trace.records.map((record) => ({
    sensitive: record.secretName !== null && trace.sensitive.has(record.secretName),
  }));
  const rulesRates: number[] = [];
  const floorRates: number[] = [];
  let findings = 0;
  let checksum = 0;
  for (let round = 0; round < ROUNDS; round++) {
    let start = performance.now();
    const rules = new ThreatRules(settings);
    for (let i = 0; i < trace.records.length; i++) {
      findings += rules.observe(trace.records[i], facts[i]).length;
    }
    rulesRates.push(trace.records.length / ((performance.now() - start) / 1000));
    start = performance.now();
    const perActor = new Map<string, number>();
    for (let i = 0; i < trace.records.length; i++) {
      const actor = trace.records[i].actor;
      if (actor !== null && !facts[i].sensitive)
        perActor.set(actor, (perActor.get(actor) ?? 0) + 1);
    }
    floorRates.push(trace.records.length / ((performance.now() - start) / 1000));
    checksum += perActor.size;
  }
  if (findings !== 0 || checksum === 0) throw new Error('the benign trace gave findings');
  const rules = median(rulesRates);
  const floor = median(floorRates);
  return alignedTable(
    ['feed the benign trace to', 'records/s (median)', 'ratio to floor'],
    [
      [
        'ThreatRules.observe (default settings)',
        formatOps(rules),
        `${(rules / floor).toFixed(3)}x`,
      ],
      ['floor: a bare Map, reads per actor', formatOps(floor), '1x'],
    ],
    [1, 2],
  );
}

/**
 * The highest value in [low, high] (a multiple of `step`) at which `fires` holds, or low - step:
 * fires holds at low values and not at high ones (a threshold, a learning period).
 */
function highestFiring(
  fires: (value: number) => boolean,
  low: number,
  high: number,
  step = 1,
): number {
  let lo = low - step;
  let hi = high + step;
  while (hi - lo > step * 1.5) {
    const middle = lo + Math.max(1, Math.floor((hi - lo) / step / 2)) * step;
    if (fires(middle)) lo = middle;
    else hi = middle;
  }
  return lo;
}

function headroom(trace: Trace): string {
  const firesRule =
    (rule: string, optionsAt: (value: number) => ThreatRulesOptions) =>
    (value: number): boolean =>
      runTrace(trace, resolveThreatRules(optionsAt(value))).some(
        (finding) => finding.rule === rule,
      );
  const counting = (key: CountingKey, rule: string): string[] => [
    `${rule} threshold`,
    String(settings[key].threshold),
    shown(
      highestFiring(
        firesRule(rule, (threshold) => ({ [key]: { threshold } })),
        1,
        settings[key].threshold,
      ),
      1,
    ),
  ];
  const volume = settings.readVolume;
  const learningHours = settings.learningPeriodMs / 3_600_000;
  const rows = [
    counting('decryptionFailures', 'decryption-failures'),
    counting('secretEnumeration', 'secret-enumeration'),
    counting('notFoundProbing', 'not-found-probing'),
    counting('deletedSecretRead', 'deleted-secret-read'),
    counting('listThenBulkRead', 'list-then-bulk-read'),
    counting('changeThenRead', 'change-then-read'),
    [
      'read-volume minReads (baselineFactor 10)',
      String(volume.minReads),
      shown(
        highestFiring(
          firesRule('read-volume', (minReads) => ({ readVolume: { minReads } })),
          1,
          volume.minReads,
        ),
        1,
      ),
    ],
    [
      'read-volume baselineFactor (minReads 50)',
      String(volume.baselineFactor),
      shown(
        highestFiring(
          firesRule('read-volume', (baselineFactor) => ({
            readVolume: { minReads: 50, baselineFactor },
          })),
          0.5,
          50,
          0.5,
        ),
        0.5,
      ),
    ],
    [
      'learningPeriodMs in hours (any rule)',
      String(learningHours),
      shown(
        highestFiring(
          (hours) =>
            runTrace(trace, resolveThreatRules({ learningPeriodMs: hours * 3_600_000 })).length > 0,
          0,
          learningHours,
        ),
        0,
      ),
    ],
  ];
  return alignedTable(
    ['setting', 'default', 'highest value at which the benign trace fires'],
    rows,
    [1, 2],
  );
}

/** A peak from highestFiring: 'never' when the benign trace does not fire even at the lowest value. */
function shown(peak: number, low: number): string {
  return peak < low ? 'never' : String(peak);
}

type CountingKey =
  | 'decryptionFailures'
  | 'secretEnumeration'
  | 'notFoundProbing'
  | 'deletedSecretRead'
  | 'listThenBulkRead'
  | 'changeThenRead';

function main(): void {
  printMachine(`rounds: ${ROUNDS}`);
  const benign = benignTrace();
  process.stdout.write(
    `benign trace: ${formatOps(benign.records.length)} records over ${((benign.records.at(-1)!.at - benign.records[0].at) / 86_400_000).toFixed(1)} days, ${runTrace(benign, settings).length} findings\n\n`,
  );
  process.stdout.write(`Detection (default settings)\n${detectionTable()}\n`);
  process.stdout.write(`Throughput\n${throughput(benign)}\n`);
  process.stdout.write(`Benign headroom\n${headroom(benign)}\n`);
}

main();
