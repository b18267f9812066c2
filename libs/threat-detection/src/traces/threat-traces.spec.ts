import { THREAT_RULE_IDS } from '../rules/threat-finding.interface.js';
import { resolveThreatRules } from '../rules/threat-rules.options.js';
import { attackTraces, benignTrace } from './threat-traces.js';
import { detectAttack, runTrace } from './trace-run.js';

const settings = resolveThreatRules(undefined);

describe('the threat rules on the synthetic traces (default settings)', () => {
  const benign = benignTrace();
  const attacks = attackTraces();

  it('the benign trace is several days of at least 100,000 records, seconds out of order', () => {
    const { records } = benign;
    expect(records.length).toBeGreaterThanOrEqual(100_000);
    expect(records.at(-1)!.at - records[0].at).toBeGreaterThan(2 * 86_400_000);
    let late = 0;
    let newest = -Infinity;
    for (const record of records) {
      if (record.at < newest) late++;
      newest = Math.max(newest, record.at);
    }
    expect(late).toBeGreaterThan(1_000);
    expect(records.every((record, i) => record.seq === i + 1)).toBe(true);
  });

  it('the benign trace gives no finding', () => {
    expect(runTrace(benign, settings)).toEqual([]);
  });

  it('an attack trace covers every rule', () => {
    expect(new Set(attacks.map((trace) => trace.rule))).toEqual(new Set(THREAT_RULE_IDS));
  });

  it.each(attacks.map((trace) => [trace.name, trace] as const))(
    '%s is found by its rule, and nothing else is found',
    (_, trace) => {
      const detection = detectAttack(trace, settings);
      expect(detection.finding?.rule).toBe(trace.rule);
      expect(detection.delayMs).toBeGreaterThanOrEqual(0);
      expect(detection.unrelated).toEqual([]);
    },
  );

  it('the slow-and-low reads spread over 3 replicas add up within the hour', () => {
    const trace = attacks.find((candidate) => candidate.name.startsWith('slow and low'))!;
    const detection = detectAttack(trace, settings);
    expect(detection.finding?.counts).toEqual({ novelNames: 20 });
    expect(detection.delayMs).toBeGreaterThan(30 * 60_000);
    expect(detection.delayMs).toBeLessThan(60 * 60_000);
  });

  it('a replica taking over from a JSON snapshot mid-trace finds exactly what one run finds', () => {
    const trace = attacks.find((candidate) => candidate.rule === 'read-volume')!;
    const whole = runTrace(trace, settings);
    expect(whole.length).toBeGreaterThan(0);
    // Mid-learning, just after learning, and in the middle of the attack.
    const attackIndex = trace.records.findIndex((record) => record.at >= trace.attackFirstAt);
    for (const handOverAt of [
      Math.floor(trace.records.length / 4),
      trace.records.findIndex((record) => record.at > trace.records[0].at + 86_400_000),
      attackIndex + 300,
    ]) {
      expect(runTrace(trace, settings, handOverAt)).toEqual(whole);
    }
  });

  it('snapshots taken in the middle of every attack hand over without a change', () => {
    for (const trace of attacks) {
      const attackIndex = trace.records.findIndex((record) => record.at >= trace.attackFirstAt);
      expect(runTrace(trace, settings, attackIndex + 5)).toEqual(runTrace(trace, settings));
    }
  });
});
