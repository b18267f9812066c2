import { SecretCache } from './secret-cache.js';

describe('SecretCache', () => {
  let now = 1_000;
  const clock = () => now;
  beforeEach(() => {
    now = 1_000;
  });

  it('evicts the least recently used entry, counting a hit on the newest key as a use', () => {
    const cache = new SecretCache(60_000, 2, clock);
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
    const cache = new SecretCache(60_000, 2, clock);
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
    const cache = new SecretCache(10_000, 10, clock);
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
    const cache = new SecretCache(0, 10, clock);
    cache.set('A', 'a', 1, null);
    expect(cache.get('A')).toBeUndefined();
    const counting = new SecretCache(60_000, 10, clock);
    counting.set('A', 'a', 1, null);
    counting.get('A');
    counting.get('missing');
    expect([counting.hits, counting.misses, counting.hitRate]).toEqual([1, 1, 0.5]);
  });
});
