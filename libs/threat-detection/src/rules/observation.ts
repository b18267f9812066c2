import type { TrailRecord } from '../trail-record.js';
import type { ActorProfile } from './actor-directory.js';
import type {
  RecordFacts,
  ThreatFinding,
  ThreatRuleId,
  ThreatSeverity,
} from './threat-finding.interface.js';

/** One record as the rules see it, with what the engine worked out for it once. */
export interface Observation {
  readonly record: TrailRecord;
  readonly facts: RecordFacts;
  /** The actor to attribute the record to: null when it has none or the actor is ignored. */
  readonly actor: string | null;
  /** That actor's profile (null with the actor). */
  readonly profile: ActorProfile | null;
  /** A read of a name the actor never named before. */
  readonly novel: boolean;
  /** The novelty and baseline rules are still learning (the record is in the learning period). */
  readonly learning: boolean;
  /** The newest `at` observed so far. */
  readonly watermark: number;
}

/** A finding before the cooldown: what a rule reports. */
export interface Detection {
  readonly rule: ThreatRuleId;
  readonly severity: ThreatSeverity;
  readonly actor: string | null;
  readonly subject: string | null;
  readonly firstAt: number;
  readonly counts: Readonly<Record<string, number>>;
}

/**
 * Where rules report: a detection becomes a finding unless the same rule already fired for the
 * same actor and subject within the cooldown.
 */
export class FindingSink {
  /** Last firing (`at`) per rule, actor and subject. */
  private readonly lastFired: Map<string, number>;
  findings: ThreatFinding[] = [];

  constructor(
    private readonly cooldownMs: number,
    entries: readonly (readonly [string, number])[] = [],
  ) {
    this.lastFired = new Map(entries);
  }

  report(detection: Detection, record: TrailRecord): void {
    const key = cooldownKey(detection.rule, detection.actor, detection.subject);
    const last = this.lastFired.get(key);
    if (last !== undefined && Math.abs(record.at - last) < this.cooldownMs) return;
    this.lastFired.set(key, record.at);
    this.findings.push({ ...detection, detectedAt: record.at, seq: record.seq });
  }

  /** Forgets firings whose cooldown ended before `horizon`. */
  sweep(horizon: number): void {
    for (const [key, at] of this.lastFired) {
      if (at + this.cooldownMs < horizon) this.lastFired.delete(key);
    }
  }

  toJSON(): [string, number][] {
    return [...this.lastFired];
  }
}

function cooldownKey(rule: string, actor: string | null, subject: string | null): string {
  return JSON.stringify([rule, actor, subject]);
}

/** What every rule implements; the engine calls observe() for each record in seq order. */
export interface ThreatRule {
  readonly id: ThreatRuleId;
  observe(observation: Observation, sink: FindingSink): void;
  /** Drops state older than the rule's window plus the reorder tolerance before `watermark`. */
  sweep(watermark: number): void;
  /** JSON-serialisable state; the rule's constructor takes it back. */
  toJSON(): unknown;
}
