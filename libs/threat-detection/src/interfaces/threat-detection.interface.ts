import type { ThreatRuleId, ThreatSeverity } from '../rules/threat-finding.interface.js';

/** The rules of the detector itself, beside those over the trail's records. */
export type ThreatDetectionRule = ThreatRuleId | 'audit-chain-broken';

/** One detection, as it is logged, published and listed (never a value). */
export interface ThreatDetection {
  /** Derived from what was detected: the same detection always has the same id. */
  readonly id: string;
  readonly rule: ThreatDetectionRule;
  readonly severity: ThreatSeverity;
  readonly actor: string | null;
  /** `key:<id>`, `secret:<name>`, `master-key:<fingerprint>`, `audit-trail` or null. */
  readonly subject: string | null;
  /** When the first record counted happened (epoch ms). */
  readonly firstAt: number;
  /** When the record that crossed the threshold happened (epoch ms). */
  readonly detectedAt: number;
  /** That record's position in the audit trail. */
  readonly seq: number;
  /** The window counts that crossed the threshold. */
  readonly counts: Readonly<Record<string, number>>;
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
