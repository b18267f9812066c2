import { MISS_REMEMBERED_MS, RecentMisses } from './recent-misses.js';

describe('RecentMisses', () => {
  let now = 1_000_000;
  const misses = () => new RecentMisses(() => now);

  beforeEach(() => {
    now = 1_000_000;
  });

  it('remembers a miss for MISS_REMEMBERED_MS, then forgets it', () => {
    const recent = misses();
    recent.add('dk-1');
    expect(recent.has('dk-1')).toBe(true);
    expect(recent.has('dk-2')).toBe(false);
    now += MISS_REMEMBERED_MS - 1;
    expect(recent.has('dk-1')).toBe(true);
    now += 1;
    expect(recent.has('dk-1')).toBe(false);
  });

  it('does not stretch a miss when the clock steps back', () => {
    const recent = misses();
    recent.add('dk-1');
    now -= 60_000;
    expect(recent.has('dk-1')).toBe(false);
  });

  it('forgets one miss, or all of them, when told', () => {
    const recent = misses();
    recent.add('dk-1');
    recent.add('dk-2');
    recent.delete('dk-1');
    expect([recent.has('dk-1'), recent.has('dk-2')]).toEqual([false, true]);
    recent.clear();
    expect(recent.has('dk-2')).toBe(false);
  });

  it('holds a bounded number of misses: a flood starts over instead of growing', () => {
    const recent = misses();
    for (let i = 0; i < 5_000; i++) recent.add(`junk-${i}`);
    expect(recent.has('junk-4999')).toBe(true);
    expect(recent.has('junk-0')).toBe(false);
  });
});
