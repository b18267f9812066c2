import { CACHE_ENTRY_OVERHEAD_BYTES as OVERHEAD, SecretCache } from './secret-cache.js';

describe('SecretCache', () => {
  let now = 1_000;
  const clock = () => now;
  beforeEach(() => {
    now = 1_000;
  });

  it('evicts the least recently used entry, counting a hit on the newest key as a use', () => {
    const cache = new SecretCache({ ttlMs: 60_000, maxEntries: 2, maxBytes: 1 << 20 }, clock);
    cache.set('A', 'a', 1, null);
    cache.set('B', 'b', 1, null);
    expect(cache.get('B')?.value).toBe('b'); // already the newest: stays last
    expect(cache.get('A')?.value).toBe('a'); // A becomes the newest
    expect(cache.get('A')?.value).toBe('a');
    cache.set('C', 'c', 1, null); // evicts B, the least recently used
    expect(cache.get('B')).toBeUndefined();
    expect(cache.get('A')?.value).toBe('a');
    expect(cache.get('C')?.value).toBe('c');
    expect(cache.size).toBe(2);
  });

  it('forgets the newest key when it is deleted or cleared, so order stays right', () => {
    const cache = new SecretCache({ ttlMs: 60_000, maxEntries: 2, maxBytes: 1 << 20 }, clock);
    cache.set('A', 'a', 1, null);
    cache.set('B', 'b', 1, null);
    cache.delete('B');
    cache.set('B', 'b2', 2, null);
    expect(cache.get('A')?.value).toBe('a'); // A is now the newest
    cache.set('C', 'c', 1, null); // evicts B
    expect(cache.get('B')).toBeUndefined();
    cache.clear();
    expect(cache.size).toBe(0);
  });

  it('never serves an entry past its TTL or past the secret expiry, whichever comes first', () => {
    const cache = new SecretCache({ ttlMs: 10_000, maxEntries: 10, maxBytes: 1 << 20 }, clock);
    cache.set('TTL', 'x', 1, null);
    cache.set('EXPIRY', 'y', 1, now + 3_000);
    now += 2_999;
    expect(cache.get('EXPIRY')?.value).toBe('y');
    now += 1;
    expect(cache.get('EXPIRY')).toBeUndefined();
    now += 6_999;
    expect(cache.get('TTL')?.value).toBe('x');
    now += 1;
    expect(cache.get('TTL')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('keeps nothing when the TTL is 0, and counts hits and misses', () => {
    const cache = new SecretCache({ ttlMs: 0, maxEntries: 10, maxBytes: 1 << 20 }, clock);
    cache.set('A', 'a', 1, null);
    expect(cache.get('A')).toBeUndefined();
    const counting = new SecretCache({ ttlMs: 60_000, maxEntries: 10, maxBytes: 1 << 20 }, clock);
    counting.set('A', 'a', 1, null);
    counting.get('A');
    counting.get('missing');
    expect([counting.hits, counting.misses, counting.hitRate]).toEqual([1, 1, 0.5]);
  });

  it('counts each value as its UTF-8 bytes plus the entry overhead, and gives them back', () => {
    const cache = new SecretCache({ ttlMs: 10_000, maxEntries: 10, maxBytes: 1 << 20 }, clock);
    cache.set('A', 'abc', 1, null);
    cache.set('B', 'é☃', 1, now + 1_000); // 2 + 3 bytes of UTF-8
    expect(cache.bytes).toBe(3 + 5 + 2 * OVERHEAD);
    cache.set('A', 'abcdef', 2, null); // replaces A
    expect(cache.bytes).toBe(6 + 5 + 2 * OVERHEAD);
    now += 1_000;
    expect(cache.get('B')).toBeUndefined(); // expired, and forgotten
    expect(cache.bytes).toBe(6 + OVERHEAD);
    cache.delete('A');
    expect(cache.bytes).toBe(0);
    cache.set('C', 'c', 1, null);
    cache.clear();
    expect([cache.size, cache.bytes]).toEqual([0, 0]);
  });

  it('evicts by bytes, least recently used first, and never keeps a value over the budget', () => {
    const cache = new SecretCache(
      { ttlMs: 60_000, maxEntries: 10, maxBytes: 2 * (10 + OVERHEAD) },
      clock,
    );
    cache.set('A', 'a'.repeat(10), 1, null);
    cache.set('B', 'b'.repeat(10), 1, null);
    cache.get('A');
    cache.set('C', 'c'.repeat(10), 1, null); // evicts B
    expect([cache.get('B'), cache.get('A')?.value, cache.get('C')?.value]).toEqual([
      undefined,
      'a'.repeat(10),
      'c'.repeat(10),
    ]);
    cache.set('D', 'd'.repeat(20), 1, null); // needs both places
    expect([cache.size, cache.bytes]).toEqual([1, 20 + OVERHEAD]);
    // One byte over the whole budget: not cached, and the older D goes too.
    cache.set('D', 'd'.repeat(2 * 10 + OVERHEAD + 1), 2, null);
    expect(cache.get('D')).toBeUndefined();
    expect([cache.size, cache.bytes]).toEqual([0, 0]);
  });
});
