import { ThreatDetectionConfigurationError } from '../errors/threat-detection-configuration.error.js';
import type { TrailRecord } from '../trail-record.js';
import { ActorDirectory } from './actor-directory.js';
import { ChangeThenReadRule, type ChangeEpisode } from './change-then-read.rule.js';
import { CountingRule, type CountingRuleSpec, type CountingRuleState } from './counting-rule.js';
import {
  DECRYPTION_FAILURES,
  DELETED_SECRET_READ,
  KEY_DESTRUCTION_REFUSED,
  MASTER_KEY_MISMATCH,
  NOT_FOUND_PROBING,
} from './counting-rules.js';
import {
  ListThenBulkReadRule,
  SecretEnumerationRule,
  SensitiveReadByNewActorRule,
  type ListThenBulkReadState,
} from './novelty-rules.js';
import { FindingSink, type Observation, type ThreatRule } from './observation.js';
import { ReadVolumeRule } from './read-volume.rule.js';
import type { RecordFacts, ThreatFinding } from './threat-finding.interface.js';
import type { ThreatRulesSnapshot } from './threat-rules-snapshot.interface.js';
import type { ResolvedThreatRules } from './threat-rules.options.js';

/** Old windows, cooldowns and episodes are dropped every minute of trail time. */
const SWEEP_INTERVAL_MS = 60_000;

type MutableObservation = { -readonly [K in keyof Observation]: Observation[K] };

/**
 * The threat-detection rules over the audit trail: pure (no database, no clock, no I/O), fed one
 * record at a time in seq order. Windows run on trail time (the records' `at`), so replaying a
 * trail gives the same findings as watching it live, and snapshot() + a restore elsewhere +
 * replay of the later records gives what one uninterrupted run gives.
 */
export class ThreatRules {
  private readonly rules: ThreatRule[] = [];
  private readonly directory: ActorDirectory;
  private readonly sink: FindingSink;
  private readonly ignored: ReadonlySet<string>;
  private seq: number | null = null;
  private learningEndsAt = Infinity;
  private watermark = -Infinity;
  private sweptAt = -Infinity;
  private readonly observation: MutableObservation = {
    record: undefined as unknown as TrailRecord,
    facts: { sensitive: false },
    actor: null,
    profile: null,
    novel: false,
    learning: true,
    watermark: -Infinity,
  };

  constructor(
    private readonly settings: ResolvedThreatRules,
    snapshot?: ThreatRulesSnapshot,
  ) {
    if (snapshot !== undefined) checkSnapshot(snapshot);
    this.ignored = new Set(settings.ignoreActors);
    this.directory = new ActorDirectory(settings, snapshot?.actors);
    this.sink = new FindingSink(settings.cooldownMs, snapshot?.cooldowns);
    if (snapshot !== undefined) {
      this.seq = snapshot.seq;
      this.learningEndsAt = snapshot.learningEndsAt ?? Infinity;
      this.watermark = snapshot.watermark ?? -Infinity;
      this.sweptAt = snapshot.sweptAt ?? -Infinity;
    }
    this.createRules(snapshot?.rules ?? {});
  }

  /** Feeds one record, in seq order; returns the findings it triggers (usually none). */
  observe(record: TrailRecord, facts: RecordFacts): ThreatFinding[] {
    const findings: ThreatFinding[] = [];
    this.seq = record.seq;
    // An actor's block or unblock is about the actor, not by it: nothing to count.
    if (record.action === 'block' || record.action === 'unblock') return findings;
    const at = record.at;
    if (this.learningEndsAt === Infinity) this.learningEndsAt = at + this.settings.learningPeriodMs;
    if (at > this.watermark) this.watermark = at;

    const observation = this.observation;
    const actor = record.actor !== null && !this.ignored.has(record.actor) ? record.actor : null;
    const profile = actor === null ? null : this.directory.touch(actor, at);
    observation.record = record;
    observation.facts = facts;
    observation.actor = actor;
    observation.profile = profile;
    observation.novel =
      profile !== null &&
      record.secretName !== null &&
      this.directory.learn(profile, record.secretName) &&
      record.action === 'read';
    observation.learning = at < this.learningEndsAt;
    observation.watermark = this.watermark;

    this.sink.findings = findings;
    for (const rule of this.rules) rule.observe(observation, this.sink);
    if (this.watermark - this.sweptAt >= SWEEP_INTERVAL_MS) this.sweep();
    return findings;
  }

  /** JSON-serialisable state, for another replica to take over (new ThreatRules(settings, it)). */
  snapshot(): ThreatRulesSnapshot {
    const rules: Record<string, unknown> = {};
    for (const rule of this.rules) rules[rule.id] = rule.toJSON();
    return {
      version: 1,
      seq: this.seq,
      learningEndsAt: Number.isFinite(this.learningEndsAt) ? this.learningEndsAt : null,
      watermark: Number.isFinite(this.watermark) ? this.watermark : null,
      sweptAt: Number.isFinite(this.sweptAt) ? this.sweptAt : null,
      actors: this.directory.toJSON(),
      cooldowns: this.sink.toJSON(),
      rules,
    };
  }

  /** How much the rules hold now: actors, (actor, name) pairs known. */
  get size(): { actors: number; knownPairs: number } {
    return { actors: this.directory.size, knownPairs: this.directory.knownPairs };
  }

  private sweep(): void {
    this.sweptAt = this.watermark;
    for (const rule of this.rules) rule.sweep(this.watermark);
    this.sink.sweep(this.watermark - this.settings.reorderToleranceMs);
  }

  private createRules(state: Partial<Record<string, unknown>>): void {
    const s = this.settings;
    const tolerance = s.reorderToleranceMs;
    const counting = (spec: CountingRuleSpec, settings: typeof s.decryptionFailures): void => {
      if (settings.enabled) {
        this.rules.push(
          new CountingRule(spec, settings, tolerance, state[spec.id] as CountingRuleState),
        );
      }
    };
    counting(DECRYPTION_FAILURES, s.decryptionFailures);
    if (s.secretEnumeration.enabled) {
      this.rules.push(
        new SecretEnumerationRule(
          s.secretEnumeration,
          tolerance,
          state['secret-enumeration'] as [string, number[]][],
        ),
      );
    }
    counting(NOT_FOUND_PROBING, s.notFoundProbing);
    if (s.readVolume.enabled) this.rules.push(new ReadVolumeRule(s.readVolume));
    counting(DELETED_SECRET_READ, s.deletedSecretRead);
    counting(KEY_DESTRUCTION_REFUSED, s.keyDestructionRefused);
    counting(MASTER_KEY_MISMATCH, s.masterKeyMismatch);
    if (s.sensitiveReadByNewActor.enabled) {
      this.rules.push(
        new SensitiveReadByNewActorRule(s.sensitiveReadByNewActor, () => this.learningEndsAt),
      );
    }
    if (s.listThenBulkRead.enabled) {
      this.rules.push(
        new ListThenBulkReadRule(
          s.listThenBulkRead,
          tolerance,
          state['list-then-bulk-read'] as ListThenBulkReadState,
        ),
      );
    }
    if (s.changeThenRead.enabled) {
      this.rules.push(
        new ChangeThenReadRule(
          s.changeThenRead,
          tolerance,
          state['change-then-read'] as [string, ChangeEpisode][],
        ),
      );
    }
  }
}

function checkSnapshot(snapshot: ThreatRulesSnapshot): void {
  const shaped =
    typeof snapshot === 'object' &&
    snapshot !== null &&
    Array.isArray(snapshot.actors) &&
    Array.isArray(snapshot.cooldowns) &&
    typeof snapshot.rules === 'object' &&
    snapshot.rules !== null;
  if (!shaped || snapshot.version !== 1) {
    throw new ThreatDetectionConfigurationError(
      'the threat rules snapshot is not one this version wrote (version 1); start without it to learn again',
    );
  }
}
