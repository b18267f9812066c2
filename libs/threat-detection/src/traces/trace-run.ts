import type { ThreatFinding } from '../rules/threat-finding.interface.js';
import type { ThreatRulesSnapshot } from '../rules/threat-rules-snapshot.interface.js';
import { ThreatRules } from '../rules/threat-rules.js';
import type { ResolvedThreatRules } from '../rules/threat-rules.options.js';
import type { AttackTrace, Trace } from './trace.interface.js';

/**
 * Every finding of a trace, fed in seq order. With `handOverAt`, the rules are snapshotted
 * before that record, the snapshot goes through JSON, and new rules restored from it go on:
 * what another replica taking over does.
 */
export function runTrace(
  trace: Trace,
  settings: ResolvedThreatRules,
  handOverAt?: number,
): ThreatFinding[] {
  let rules = new ThreatRules(settings);
  const findings: ThreatFinding[] = [];
  const { records, sensitive } = trace;
  for (let i = 0; i < records.length; i++) {
    if (i === handOverAt) {
      const saved = JSON.parse(JSON.stringify(rules.snapshot())) as ThreatRulesSnapshot;
      rules = new ThreatRules(settings, saved);
    }
    const record = records[i];
    const facts = { sensitive: record.secretName !== null && sensitive.has(record.secretName) };
    for (const finding of rules.observe(record, facts)) findings.push(finding);
  }
  return findings;
}

/** What the rules made of an attack trace. */
export interface AttackDetection {
  readonly trace: string;
  readonly rule: string;
  /** The first finding of the rule meant for the attack, naming the attacker. */
  readonly finding: ThreatFinding | undefined;
  /** detectedAt − the attack's first record's `at`. */
  readonly delayMs: number | null;
  /** Findings that name neither the attacker nor its subject, or come before the attack. */
  readonly unrelated: readonly ThreatFinding[];
  readonly findings: readonly ThreatFinding[];
  readonly records: number;
}

export function detectAttack(trace: AttackTrace, settings: ResolvedThreatRules): AttackDetection {
  const findings = runTrace(trace, settings);
  const { actor, subject } = trace.attacker;
  const aboutAttack = (finding: ThreatFinding): boolean =>
    finding.detectedAt >= trace.attackFirstAt &&
    ((actor !== null && finding.actor === actor) ||
      (subject !== null && finding.subject === subject));
  const finding = findings.find(
    (candidate) => candidate.rule === trace.rule && aboutAttack(candidate),
  );
  return {
    trace: trace.name,
    rule: trace.rule,
    finding,
    delayMs: finding === undefined ? null : finding.detectedAt - trace.attackFirstAt,
    unrelated: findings.filter((candidate) => !aboutAttack(candidate)),
    findings,
    records: trace.records.length,
  };
}
