import type { ThreatFinding, ThreatRuleId } from '../rules/threat-finding.interface.js';

/** The rules of the detector itself, beside those over the trail's records. */
export type ThreatDetectionRule = ThreatRuleId | 'audit-chain-broken';

/**
 * One detection, as it is logged, published and listed (never a value): a rule's finding with
 * the id derived from it and when the detector recorded it.
 */
export interface ThreatDetection extends Omit<ThreatFinding, 'rule'> {
  /** Derived from what was detected: the same detection always has the same id. */
  readonly id: string;
  readonly rule: ThreatDetectionRule;
  /** When the detector recorded it (epoch ms). */
  readonly recordedAt: number;
}

/** An actor refused for a while. */
export interface ActorBlock {
  readonly actor: string;
  /** When the block ends (epoch ms). */
  readonly until: number;
  /** The rule that flagged the actor, or `operator`. */
  readonly reason: string;
  readonly detectionId: string | null;
  readonly createdAt: number;
}

export interface ListDetectionsOptions {
  /** At most this many, newest first (1 to 1,000). @default 50 */
  limit?: number;
  /** Only those recorded at or after this time (epoch ms). */
  since?: number;
}
