import type { ThreatSeverity } from './threat-finding.interface.js';

/** What every rule accepts. */
export interface ThreatRuleOptions {
  /** @default true */
  enabled?: boolean;
  /** The severity of the rule's findings; each rule's default is on its field below. */
  severity?: ThreatSeverity;
}

/** A rule that counts matching records in a sliding window of trail time. */
export interface CountingRuleOptions extends ThreatRuleOptions {
  /** Findings need at least this many records (or names) in one window. */
  threshold?: number;
  /** The window's length in ms of trail time (records' `at`). */
  windowMs?: number;
}

/** `read-volume`: an actor's reads far above its own baseline. */
export interface ReadVolumeRuleOptions extends ThreatRuleOptions {
  /** The sliding window reads are counted in, and the period of the baseline. @default 300_000 (5 min) */
  windowMs?: number;
  /** Never a finding below this many reads in a window, whatever the baseline. @default 500 */
  minReads?: number;
  /** A window above this multiple of the actor's baseline is reported. @default 10 */
  baselineFactor?: number;
  /** Windows an actor must have been seen for before it is judged. @default 12 (1 h) */
  baselineWindows?: number;
  /** Weight of the newest window in the baseline (an EWMA), in (0, 1]. @default 0.1 */
  baselineWeight?: number;
}

/** `change-then-read`: a change by an actor, then that actor reading other secrets. */
export interface ChangeThenReadRuleOptions extends CountingRuleOptions {
  /** Actors whose changes are not an operator's (automatic rotation). @default ['nest-kms:auto-rotation'] */
  excludeActors?: readonly string[];
}

/**
 * The threat rules' settings. Every field is optional; the defaults are tuned on the synthetic
 * traces in src/traces (a benign trace of several days gives no finding, every attack is found).
 * Windows are in ms of trail time: the records' `at`, not the detector's clock.
 */
export interface ThreatRulesOptions {
  /**
   * Trail time, from the first record observed, during which the novelty and baseline rules
   * (secret-enumeration, read-volume, sensitive-read-by-new-actor, list-then-bulk-read) learn and
   * stay silent. A day sees the daily cycle once (nightly jobs, rotations, on-call operators).
   * @default 86_400_000 (24 h)
   */
  learningPeriodMs?: number;
  /** A rule does not fire again for the same actor and subject within this. @default 3_600_000 (1 h) */
  cooldownMs?: number;
  /**
   * How late (in `at`) a record may arrive and still be counted with its neighbours: replicas
   * flush separately, and after a database outage minutes late. Windows keep this much extra.
   * @default 600_000 (10 min)
   */
  reorderToleranceMs?: number;
  /** Trusted automation: never attributed to an actor (rules about a key or master key still count them). @default [] */
  ignoreActors?: readonly string[];
  /** Actors remembered (first seen, names read, baseline); past it the least recently active is forgotten. @default 10_000 */
  maxKnownActors?: number;
  /** Secret names remembered per actor; past it the least recently read is forgotten. @default 10_000 */
  maxNamesPerActor?: number;
  /** (actor, name) pairs remembered in all; past it the least recently active actors are forgotten. @default 500_000 */
  maxKnownPairs?: number;

  /** Failed decryptions by key and by actor. @default { severity: 'high', threshold: 10, windowMs: 60_000 } */
  decryptionFailures?: CountingRuleOptions;
  /** Names an actor never read before (not-found names too). @default { severity: 'high', threshold: 20, windowMs: 3_600_000 } */
  secretEnumeration?: CountingRuleOptions;
  /** Reads of names that do not exist. @default { severity: 'medium', threshold: 10, windowMs: 300_000 } */
  notFoundProbing?: CountingRuleOptions;
  /** @default { severity: 'high', windowMs: 300_000, minReads: 500, baselineFactor: 10, baselineWindows: 12, baselineWeight: 0.1 } */
  readVolume?: ReadVolumeRuleOptions;
  /** Reads of deleted, destroyed or expired secrets. @default { severity: 'medium', threshold: 3, windowMs: 600_000 } */
  deletedSecretRead?: CountingRuleOptions;
  /** Refused destructions of a data key in use. @default { severity: 'high', threshold: 1, windowMs: 600_000 } */
  keyDestructionRefused?: CountingRuleOptions;
  /** Starts refused for a wrong master key. @default { severity: 'critical', threshold: 1, windowMs: 600_000 } */
  masterKeyMismatch?: CountingRuleOptions;
  /** An actor first seen after the learning period reading a sensitive secret. @default { severity: 'high' } */
  sensitiveReadByNewActor?: ThreatRuleOptions;
  /** A listing, then reads of names new to that actor. @default { severity: 'high', threshold: 10, windowMs: 300_000 } */
  listThenBulkRead?: CountingRuleOptions;
  /** A change, then the same actor reading other secrets. @default { severity: 'medium', threshold: 5, windowMs: 600_000, excludeActors: ['nest-kms:auto-rotation'] } */
  changeThenRead?: ChangeThenReadRuleOptions;
}
