import { KeyedWindows } from './keyed-windows.js';
import type { FindingSink, Observation, ThreatRule } from './observation.js';
import type { ResolvedCountingRule, ResolvedRule } from './threat-rules.options.js';

/**
 * secret-enumeration: an actor reading names it never named before (not-found names too). The
 * window is long so that one name every few minutes (slow and low) adds up as a burst does.
 */
export class SecretEnumerationRule implements ThreatRule {
  readonly id = 'secret-enumeration';
  private readonly novelReads: KeyedWindows;
  private readonly retentionMs: number;

  constructor(
    private readonly settings: ResolvedCountingRule,
    reorderToleranceMs: number,
    state?: [string, number[]][],
  ) {
    this.novelReads = new KeyedWindows(state);
    this.retentionMs = settings.windowMs + reorderToleranceMs;
  }

  observe(observation: Observation, sink: FindingSink): void {
    const { actor, record } = observation;
    if (!observation.novel || observation.learning || actor === null) return;
    const { threshold, windowMs, severity } = this.settings;
    const window = this.novelReads.add(actor, record.at, observation.watermark - this.retentionMs);
    const count = window.count(record.at, windowMs, threshold);
    if (count < threshold) return;
    sink.report(
      {
        rule: this.id,
        severity,
        actor,
        subject: null,
        firstAt: window.firstAt,
        counts: { novelNames: count },
      },
      record,
    );
  }

  sweep(watermark: number): void {
    this.novelReads.sweep(watermark - this.retentionMs);
  }

  toJSON(): [string, number[]][] {
    return this.novelReads.toJSON();
  }
}

/**
 * sensitive-read-by-new-actor: an actor first seen after the learning period reads, for the
 * first time, a secret the detector's facts call sensitive. Each (actor, secret) fires once.
 */
export class SensitiveReadByNewActorRule implements ThreatRule {
  readonly id = 'sensitive-read-by-new-actor';

  constructor(
    private readonly settings: ResolvedRule,
    private readonly learningEndsAt: () => number,
  ) {}

  observe(observation: Observation, sink: FindingSink): void {
    const { actor, profile, record } = observation;
    if (!observation.novel || !observation.facts.sensitive || observation.learning) return;
    if (actor === null || profile === null || profile.firstSeenAt < this.learningEndsAt()) return;
    sink.report(
      {
        rule: this.id,
        severity: this.settings.severity,
        actor,
        subject: `secret:${record.secretName}`,
        firstAt: record.at,
        counts: { sensitiveReads: 1 },
      },
      record,
    );
  }

  sweep(): void {}

  toJSON(): null {
    return null;
  }
}

export interface ListThenBulkReadState {
  lists: [string, number[]][];
  novelReads: [string, number[]][];
}

/** list-then-bulk-read: a listing, then reads of names new to the same actor within the window. */
export class ListThenBulkReadRule implements ThreatRule {
  readonly id = 'list-then-bulk-read';
  private readonly lists: KeyedWindows;
  private readonly novelReads: KeyedWindows;
  private readonly retentionMs: number;

  constructor(
    private readonly settings: ResolvedCountingRule,
    reorderToleranceMs: number,
    state?: ListThenBulkReadState,
  ) {
    this.lists = new KeyedWindows(state?.lists);
    this.novelReads = new KeyedWindows(state?.novelReads);
    this.retentionMs = settings.windowMs + reorderToleranceMs;
  }

  observe(observation: Observation, sink: FindingSink): void {
    const { actor, record } = observation;
    if (observation.learning || actor === null) return;
    const horizon = observation.watermark - this.retentionMs;
    const { windowMs } = this.settings;
    let listAt: number | undefined;
    if (record.action === 'list') {
      this.lists.add(actor, record.at, horizon);
      listAt = record.at;
    } else if (observation.novel) {
      this.novelReads.add(actor, record.at, horizon);
      listAt = this.lists.get(actor)?.earliestFrom(record.at - windowMs);
      if (listAt !== undefined && listAt > record.at) listAt = undefined;
    }
    if (listAt === undefined) return;
    const count = this.novelReads.get(actor)?.countBetween(listAt, listAt + windowMs) ?? 0;
    if (count < this.settings.threshold) return;
    sink.report(
      {
        rule: this.id,
        severity: this.settings.severity,
        actor,
        subject: null,
        firstAt: listAt,
        counts: { novelReads: count },
      },
      record,
    );
  }

  sweep(watermark: number): void {
    this.lists.sweep(watermark - this.retentionMs);
    this.novelReads.sweep(watermark - this.retentionMs);
  }

  toJSON(): ListThenBulkReadState {
    return { lists: this.lists.toJSON(), novelReads: this.novelReads.toJSON() };
  }
}
