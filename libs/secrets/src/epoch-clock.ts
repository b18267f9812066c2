/** How long a wall-clock reading serves as the anchor for monotonic ones. */
const ANCHOR_MS = 1_000;

/**
 * Epoch milliseconds for a `performance.now()` reading the caller already took, so that a cached
 * read reads the clock once for its latency, its entry's freshness and its audit record. With
 * the default clock (Date.now), the wall clock is read again whenever a second of monotonic time
 * has passed since the last reading, and the time given is never behind what Date.now() would
 * say and at most 1 ms ahead, plus however far the system clock was stepped within that second
 * (a step shows within a second). An injected clock (tests) is asked every time.
 */
export class EpochClock {
  private readonly derived: boolean;
  private anchorEpochMs = 0;
  private anchorMonotonicMs = Number.NEGATIVE_INFINITY;

  constructor(private readonly clock: () => number) {
    this.derived = clock === Date.now;
  }

  /** Whole epoch milliseconds at `monotonicMs`, a performance.now() reading taken just before. */
  at(monotonicMs: number): number {
    if (!this.derived) return this.clock();
    if (monotonicMs - this.anchorMonotonicMs >= ANCHOR_MS) {
      this.anchorEpochMs = this.clock();
      this.anchorMonotonicMs = monotonicMs;
    }
    // Date.now() rounds down by up to 1 ms (and was read a moment after monotonicMs): adding 1
    // never runs behind it, so an entry is never served past its staleAt.
    return Math.floor(this.anchorEpochMs + (monotonicMs - this.anchorMonotonicMs)) + 1;
  }
}
