/**
 * The `at` times of the records one rule counted for one actor or key, kept sorted. Records
 * arrive in seq order, which is only roughly `at` order, so an insertion may land a little before
 * the end; the count asked for is the largest number of times in any window of `windowMs` that
 * holds the new record, as if the records had arrived in `at` order.
 */
export class TimeWindow {
  private times: number[];
  private head = 0;
  /** The earliest time of the window the last count() found. */
  firstAt = 0;

  constructor(times: readonly number[] = []) {
    this.times = [...times];
  }

  get size(): number {
    return this.times.length - this.head;
  }

  /** The newest time held (-Infinity when empty). */
  get newest(): number {
    return this.size === 0 ? -Infinity : this.times[this.times.length - 1];
  }

  add(at: number): void {
    const times = this.times;
    if (times.length === this.head || at >= times[times.length - 1]) {
      times.push(at);
      return;
    }
    times.splice(this.upperBound(at), 0, at);
  }

  /** Drops the times before `horizon`. */
  prune(horizon: number): void {
    const times = this.times;
    while (this.head < times.length && times[this.head] < horizon) this.head++;
    if (this.head > 64 && this.head * 2 > times.length) {
      this.times = times.slice(this.head);
      this.head = 0;
    }
  }

  /**
   * The most times in a window [start, start + windowMs] that contains `at` (a time held), with
   * its earliest time in firstAt. Stops counting once `enough` is reached.
   */
  count(at: number, windowMs: number, enough: number): number {
    const times = this.times;
    const end = this.upperBound(at);
    let start = this.lowerBound(at - windowMs);
    // In order (nothing after `at` within reach): the trailing window is the answer.
    if (end === times.length || times[end] > at + windowMs || end - start >= enough) {
      this.firstAt = times[start];
      return end - start;
    }
    let best = 0;
    let reach = end;
    for (; start < end; start++) {
      const limit = times[start] + windowMs;
      while (reach < times.length && times[reach] <= limit) reach++;
      if (reach - start > best) {
        best = reach - start;
        this.firstAt = times[start];
        if (best >= enough) break;
      }
    }
    return best;
  }

  /** How many times are in [from, to]. */
  countBetween(from: number, to: number): number {
    return this.upperBound(to) - this.lowerBound(from);
  }

  /** The earliest time at or after `from`, or undefined. */
  earliestFrom(from: number): number | undefined {
    const index = this.lowerBound(from);
    return index < this.times.length ? this.times[index] : undefined;
  }

  /** The times held, oldest first (for a snapshot). */
  toJSON(): number[] {
    return this.times.slice(this.head);
  }

  /** First index whose time is >= `at`. */
  private lowerBound(at: number): number {
    let low = this.head;
    let high = this.times.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.times[middle] < at) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /** First index whose time is > `at`. */
  private upperBound(at: number): number {
    let low = this.head;
    let high = this.times.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.times[middle] <= at) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}
