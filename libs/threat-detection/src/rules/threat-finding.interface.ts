/** How urgent a finding is; `critical` is reserved for what stops the service (a wrong master key). */
export type ThreatSeverity = 'low' | 'medium' | 'high' | 'critical';

export const THREAT_SEVERITIES: readonly ThreatSeverity[] = ['low', 'medium', 'high', 'critical'];

/** The rules, by the id a finding carries. */
export const THREAT_RULE_IDS = [
  'decryption-failures',
  'secret-enumeration',
  'not-found-probing',
  'read-volume',
  'deleted-secret-read',
  'key-destruction-refused',
  'master-key-mismatch',
  'sensitive-read-by-new-actor',
  'list-then-bulk-read',
  'change-then-read',
] as const;

export type ThreatRuleId = (typeof THREAT_RULE_IDS)[number];

/** One detection: who, about what, when, and the window counts that crossed the threshold. */
export interface ThreatFinding {
  /** The rule's id (THREAT_RULE_IDS). */
  readonly rule: ThreatRuleId;
  readonly severity: ThreatSeverity;
  /** The actor the counted records came from; null for findings about a key or master key alone. */
  readonly actor: string | null;
  /** `key:<id>`, `secret:<name>`, `master-key:<fingerprint>` or null. */
  readonly subject: string | null;
  /** `at` of the earliest record counted. */
  readonly firstAt: number;
  /** `at` of the record that crossed the threshold. */
  readonly detectedAt: number;
  /** `seq` of that record. */
  readonly seq: number;
  /** Window counts (never a value, never a secret's name). */
  readonly counts: Readonly<Record<string, number>>;
}

/** Facts the detector looks up for a record before feeding it (tags live in the store). */
export interface RecordFacts {
  /** The record's secret is tagged sensitive. */
  readonly sensitive: boolean;
}
