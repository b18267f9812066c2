import type { TrailAction } from '../trail-record.js';
import type { FindingSink, Observation, ThreatRule } from './observation.js';
import type { ResolvedChangeThenReadRule } from './threat-rules.options.js';

/** Changes to configuration or keys (successful ones). */
const CHANGES: ReadonlySet<TrailAction> = new Set<TrailAction>([
  'write',
  'rotate',
  'delete',
  'recover',
  'destroy',
  'restore',
  'rotate-master',
  'remove-master',
  'destroy-key',
  'destroy-tenant',
]);

/** An actor's changes and the other secrets it read after them. */
export interface ChangeEpisode {
  startAt: number;
  /** The last change's `at` plus the window. */
  endAt: number;
  changes: number;
  /** Names the actor changed in the episode (reading those back is expected). */
  changed: string[];
  /** Other secrets read in the episode: name → `at`. */
  reads: [string, number][];
}

interface LiveEpisode {
  startAt: number;
  endAt: number;
  changes: number;
  changed: Set<string>;
  reads: Map<string, number>;
}

/**
 * change-then-read: a change by an actor, then that same actor reading distinct other secrets
 * within the window of a change (the shape of someone who just gained write access looking around).
 */
export class ChangeThenReadRule implements ThreatRule {
  readonly id = 'change-then-read';
  private readonly episodes = new Map<string, LiveEpisode>();
  private readonly excluded: ReadonlySet<string>;

  constructor(
    private readonly settings: ResolvedChangeThenReadRule,
    private readonly reorderToleranceMs: number,
    state: readonly (readonly [string, ChangeEpisode])[] = [],
  ) {
    this.excluded = new Set(settings.excludeActors);
    for (const [actor, episode] of state) {
      this.episodes.set(actor, {
        ...episode,
        changed: new Set(episode.changed),
        reads: new Map(episode.reads),
      });
    }
  }

  observe(observation: Observation, sink: FindingSink): void {
    const { actor, record } = observation;
    if (actor === null) return;
    if (CHANGES.has(record.action) && record.outcome === 'success') {
      if (this.excluded.has(actor)) return;
      this.change(actor, record.at, record.secretName);
      return;
    }
    if (record.action !== 'read' || record.secretName === null) return;
    const episode = this.episodes.get(actor);
    if (episode === undefined || record.at < episode.startAt || record.at > episode.endAt) return;
    if (episode.changed.has(record.secretName)) return;
    if (!episode.reads.has(record.secretName)) episode.reads.set(record.secretName, record.at);
    if (episode.reads.size < this.settings.threshold) return;
    sink.report(
      {
        rule: this.id,
        severity: this.settings.severity,
        actor,
        subject: null,
        firstAt: episode.startAt,
        counts: { changes: episode.changes, otherSecretsRead: episode.reads.size },
      },
      record,
    );
  }

  private change(actor: string, at: number, name: string | null): void {
    let episode = this.episodes.get(actor);
    if (episode === undefined || at > episode.endAt) {
      episode = { startAt: at, endAt: at, changes: 0, changed: new Set(), reads: new Map() };
      this.episodes.set(actor, episode);
    }
    episode.startAt = Math.min(episode.startAt, at);
    episode.endAt = Math.max(episode.endAt, at + this.settings.windowMs);
    episode.changes++;
    if (name !== null) {
      episode.changed.add(name);
      episode.reads.delete(name);
    }
  }

  sweep(watermark: number): void {
    for (const [actor, episode] of this.episodes) {
      if (episode.endAt < watermark - this.reorderToleranceMs) this.episodes.delete(actor);
    }
  }

  toJSON(): [string, ChangeEpisode][] {
    return [...this.episodes].map(([actor, episode]) => [
      actor,
      { ...episode, changed: [...episode.changed], reads: [...episode.reads] },
    ]);
  }
}
