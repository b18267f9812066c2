import type { ReadVolumeState } from './actor-directory.js';
import type { FindingSink, Observation, ThreatRule } from './observation.js';
import type { ResolvedReadVolumeRule } from './threat-rules.options.js';

/** The sliding window is counted in this many slots (a burst is seen within a fifth of a window). */
const SLOTS = 5;

/**
 * read-volume: an actor's reads in a sliding window above max(minReads, baselineFactor x its
 * baseline), the baseline an EWMA of its reads per whole window (empty windows included), judged
 * once the actor has been seen for baselineWindows windows. The state lives in the actor's
 * profile, so it is bounded and forgotten with the actor.
 */
export class ReadVolumeRule implements ThreatRule {
  readonly id = 'read-volume';
  private readonly slotMs: number;

  constructor(private readonly settings: ResolvedReadVolumeRule) {
    this.slotMs = settings.windowMs / SLOTS;
  }

  observe(observation: Observation, sink: FindingSink): void {
    const { actor, profile, record } = observation;
    if (record.action !== 'read' || actor === null || profile === null) return;
    const at = record.at;
    const volume = (profile.volume ??= this.start(at));
    this.countWindow(volume, Math.floor(at / this.settings.windowMs));
    this.countSlot(volume, Math.floor(at / this.slotMs), at);
    const { minReads, baselineFactor, baselineWindows, severity } = this.settings;
    if (observation.learning || volume.windowsSeen < baselineWindows) return;
    let reads = 0;
    for (let i = 0; i < SLOTS; i++) reads += volume.slots[i];
    if (reads <= Math.max(minReads, baselineFactor * volume.baseline)) return;
    let firstAt = at;
    for (let i = 0; i < SLOTS; i++) {
      if (volume.slots[i] > 0 && volume.slotFirstAt[i] < firstAt) firstAt = volume.slotFirstAt[i];
    }
    sink.report(
      {
        rule: this.id,
        severity,
        actor,
        subject: null,
        firstAt,
        counts: { reads, baseline: Math.round(volume.baseline) },
      },
      record,
    );
  }

  private start(at: number): ReadVolumeState {
    return {
      slot: Math.floor(at / this.slotMs),
      slots: Array.from({ length: SLOTS }, () => 0),
      slotFirstAt: Array.from({ length: SLOTS }, () => 0),
      window: Math.floor(at / this.settings.windowMs),
      windowReads: 0,
      baseline: 0,
      windowsSeen: 0,
    };
  }

  /** Closes the windows before `window` into the baseline; a late read counts in the open one. */
  private countWindow(volume: ReadVolumeState, window: number): void {
    if (window > volume.window) {
      const weight = this.settings.baselineWeight;
      volume.baseline =
        volume.windowsSeen === 0
          ? volume.windowReads
          : weight * volume.windowReads + (1 - weight) * volume.baseline;
      const empty = window - volume.window - 1;
      if (empty > 0) volume.baseline *= Math.pow(1 - weight, empty);
      volume.windowsSeen += 1 + empty;
      volume.window = window;
      volume.windowReads = 0;
    }
    volume.windowReads++;
  }

  private countSlot(volume: ReadVolumeState, slot: number, at: number): void {
    if (slot > volume.slot) {
      const cleared = Math.min(slot - volume.slot, SLOTS);
      for (let i = 1; i <= cleared; i++) volume.slots[(volume.slot + i) % SLOTS] = 0;
      volume.slot = slot;
    }
    // Later than the whole sliding window: counted in the baseline only.
    if (volume.slot - slot >= SLOTS) return;
    const index = slot % SLOTS;
    if (volume.slots[index] === 0 || at < volume.slotFirstAt[index]) volume.slotFirstAt[index] = at;
    volume.slots[index]++;
  }

  sweep(): void {}

  toJSON(): null {
    return null;
  }
}
