import type { ThreatRuleId } from '../rules/threat-finding.interface.js';
import type { TrailRecord } from '../trail-record.js';

/** An operation as it happened, before a replica stamps and flushes it (replica-delivery.ts). */
export interface TraceEvent extends Omit<TrailRecord, 'seq' | 'at'> {
  /** True time, epoch ms. */
  readonly time: number;
  /** The replica that served the operation and writes its record (0, 1 or 2). */
  readonly replica: number;
  /** Part of an attack, not of the benign traffic around it. */
  readonly attack?: true;
}

/** A trail to feed the rules: its records in seq order and the names tagged sensitive. */
export interface Trace {
  readonly name: string;
  readonly records: readonly TrailRecord[];
  readonly sensitive: ReadonlySet<string>;
}

/** A benign trail with an attack embedded after the learning period. */
export interface AttackTrace extends Trace {
  /** The rule meant to catch it. */
  readonly rule: ThreatRuleId;
  /** Whom findings about the attack name: its actor, and the key or master key it is about. */
  readonly attacker: { readonly actor: string | null; readonly subject: string | null };
  /** `at` of the attack's first record. */
  readonly attackFirstAt: number;
  /** Records that belong to the attack. */
  readonly attackRecords: number;
}
