import type { TrailRecord } from '../trail-record.js';
import type { SeededRandom } from './seeded-random.js';
import type { TraceEvent } from './trace.interface.js';

/** A span in which one replica could not write its records: they are flushed at its end. */
export interface WriteOutage {
  readonly replica: number;
  readonly from: number;
  readonly to: number;
}

/** Each replica's clock is off by a little (ms), as NTP leaves real machines. */
const CLOCK_SKEW_MS = [0, 420, -650];
/** Replicas buffer their records and flush them every second (the audit trail's default). */
const FLUSH_INTERVAL_MS = 1_000;

export interface Delivery {
  /** The records in seq order. */
  readonly records: TrailRecord[];
  /** `at` of the first attack record, and how many there are. */
  readonly attackFirstAt: number;
  readonly attackRecords: number;
}

/**
 * The trail as the database receives it: each replica stamps `at` with its own clock, buffers,
 * and flushes every second (sometimes a few seconds late under load; after an outage, all at
 * once); seq follows the order of the flushes. So `at` runs seconds out of order with seq, and
 * minutes after an outage.
 */
export function deliver(
  events: readonly TraceEvent[],
  random: SeededRandom,
  outages: readonly WriteOutage[] = [],
): Delivery {
  const sorted = [...events].sort((a, b) => a.time - b.time);
  const flushed = sorted.map((event, index) => {
    const at = Math.round(event.time + CLOCK_SKEW_MS[event.replica]);
    let flushAt = Math.ceil((event.time + 1) / FLUSH_INTERVAL_MS) * FLUSH_INTERVAL_MS;
    if (random.chance(0.02)) flushAt += random.between(1, 6) * FLUSH_INTERVAL_MS;
    for (const outage of outages) {
      if (outage.replica === event.replica && flushAt >= outage.from && flushAt < outage.to) {
        flushAt = outage.to;
      }
    }
    return { event, at, flushAt, index };
  });
  flushed.sort(
    (a, b) => a.flushAt - b.flushAt || a.event.replica - b.event.replica || a.index - b.index,
  );
  let attackFirstAt = Infinity;
  let attackRecords = 0;
  const records = flushed.map(({ event, at }, position): TrailRecord => {
    if (event.attack) {
      attackRecords++;
      if (at < attackFirstAt) attackFirstAt = at;
    }
    return {
      seq: position + 1,
      at,
      action: event.action,
      secretName: event.secretName,
      version: event.version,
      actor: event.actor,
      outcome: event.outcome,
      errorCode: event.errorCode,
      keyId: event.keyId,
    };
  });
  return { records, attackFirstAt, attackRecords };
}
