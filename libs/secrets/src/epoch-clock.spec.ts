import { performance } from 'node:perf_hooks';
import { EpochClock } from './epoch-clock.js';

describe('EpochClock', () => {
  it('asks an injected clock every time, whatever the monotonic reading', () => {
    let now = 5_000;
    const clock = new EpochClock(() => now);
    expect(clock.at(1)).toBe(5_000);
    now = 9_000;
    expect(clock.at(1)).toBe(9_000);
  });

  it('with Date.now, is never behind it and at most 1 ms ahead', () => {
    const clock = new EpochClock(Date.now);
    for (let i = 0; i < 10_000; i++) {
      const before = Date.now();
      const at = clock.at(performance.now());
      const after = Date.now();
      expect(at).toBeGreaterThanOrEqual(before);
      expect(at).toBeLessThanOrEqual(after + 1);
      expect(Number.isInteger(at)).toBe(true);
    }
  });

  it('reads the wall clock again once a second of monotonic time has passed', () => {
    const clock = new EpochClock(Date.now);
    const start = performance.now();
    const first = clock.at(start);
    // Monotonic readings from the future: derived from the anchor until a second has passed.
    expect(clock.at(start + 999) - first).toBeGreaterThanOrEqual(998);
    const before = Date.now();
    const reanchored = clock.at(start + 1_500);
    expect(reanchored).toBeGreaterThanOrEqual(before + 1);
    expect(reanchored).toBeLessThanOrEqual(Date.now() + 1);
    // 250 ms on, as floating point puts it.
    expect(clock.at(start + 1_750) - reanchored).toBeGreaterThanOrEqual(249);
    expect(clock.at(start + 1_750) - reanchored).toBeLessThanOrEqual(250);
  });
});
