import type { TrailRecord } from '../trail-record.js';
import { KeyedWindows } from './keyed-windows.js';
import type { FindingSink, Observation, ThreatRule } from './observation.js';
import type { ThreatRuleId } from './threat-finding.interface.js';
import type { ResolvedCountingRule } from './threat-rules.options.js';

/** What a counting rule counts, and under which keys. */
export interface CountingRuleSpec {
  readonly id: ThreatRuleId;
  /** The name of the count in a finding's counts. */
  readonly counted: string;
  matches(record: TrailRecord): boolean;
  /** Counted per attributed actor (finding: that actor, no subject). */
  readonly byActor: boolean;
  /**
   * Counted per subject too (`key:<id>`, `master-key:<fp>`), whoever the actor: null when the
   * record has none. The finding names the record's actor when `subjectActor` is 'record'.
   */
  subjectOf?(record: TrailRecord): string | null;
  readonly subjectActor?: 'none' | 'record';
}

export interface CountingRuleState {
  actors: [string, number[]][];
  subjects: [string, number[]][];
}

/** ≥ threshold matching records within windowMs, per actor and/or per subject. */
export class CountingRule implements ThreatRule {
  readonly id: ThreatRuleId;
  private readonly actors: KeyedWindows;
  private readonly subjects: KeyedWindows;
  private readonly retentionMs: number;

  constructor(
    private readonly spec: CountingRuleSpec,
    private readonly settings: ResolvedCountingRule,
    reorderToleranceMs: number,
    state?: CountingRuleState,
  ) {
    this.id = spec.id;
    this.actors = new KeyedWindows(state?.actors);
    this.subjects = new KeyedWindows(state?.subjects);
    this.retentionMs = settings.windowMs + reorderToleranceMs;
  }

  observe(observation: Observation, sink: FindingSink): void {
    const { record, actor } = observation;
    if (!this.spec.matches(record)) return;
    const horizon = observation.watermark - this.retentionMs;
    if (this.spec.byActor && actor !== null) {
      this.count(this.actors, actor, actor, null, record, horizon, sink);
    }
    const subject = this.spec.subjectOf?.(record) ?? null;
    if (subject !== null) {
      const findingActor = this.spec.subjectActor === 'record' ? record.actor : null;
      this.count(this.subjects, subject, findingActor, subject, record, horizon, sink);
    }
  }

  private count(
    windows: KeyedWindows,
    key: string,
    actor: string | null,
    subject: string | null,
    record: TrailRecord,
    horizon: number,
    sink: FindingSink,
  ): void {
    const { threshold, windowMs, severity } = this.settings;
    const window = windows.add(key, record.at, horizon);
    const count = window.count(record.at, windowMs, threshold);
    if (count < threshold) return;
    sink.report(
      {
        rule: this.id,
        severity,
        actor,
        subject,
        firstAt: window.firstAt,
        counts: { [this.spec.counted]: count },
      },
      record,
    );
  }

  sweep(watermark: number): void {
    this.actors.sweep(watermark - this.retentionMs);
    this.subjects.sweep(watermark - this.retentionMs);
  }

  toJSON(): CountingRuleState {
    return { actors: this.actors.toJSON(), subjects: this.subjects.toJSON() };
  }
}
