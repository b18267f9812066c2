import type { ActorEntry } from './actor-directory.js';
import type { ThreatRuleId } from './threat-finding.interface.js';

/**
 * The rules' state as JSON (ThreatRules.snapshot()): windows, baselines, known actors and the
 * names they read, cooldowns and the learning period's end. Holds secret names and actor ids,
 * never a value. Another replica restores it and replays the records after `seq`.
 */
export interface ThreatRulesSnapshot {
  readonly version: 1;
  /** seq of the last record observed (null before the first). */
  readonly seq: number | null;
  readonly learningEndsAt: number | null;
  /** The newest `at` observed. */
  readonly watermark: number | null;
  /** The watermark at the last sweep of old state. */
  readonly sweptAt: number | null;
  readonly actors: readonly ActorEntry[];
  readonly cooldowns: readonly (readonly [string, number])[];
  /** Each enabled rule's own state. */
  readonly rules: Readonly<Partial<Record<ThreatRuleId, unknown>>>;
}
