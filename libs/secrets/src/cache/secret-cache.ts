interface CacheEntry {
  value: string;
  version: number;
  /** Epoch ms after which the entry is stale: the cache TTL, or the secret's expiry if sooner. */
  staleAt: number;
}

/**
 * Decrypted values in memory: every entry has a TTL and never outlives its secret's expiry;
 * at most `maxEntries`, least recently used out first (Map keeps insertion order).
 */
export class SecretCache {
  private readonly entries = new Map<string, CacheEntry>();
  /** The key last inserted: a hot key is already last, and moving it again is not free. */
  private newest: string | undefined;
  hits = 0;
  misses = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** The cached current value at `now` (epoch ms; default: the clock), or undefined (counted as a miss). */
  get(name: string, now = this.now()): CacheEntry | undefined {
    const entry = this.entries.get(name);
    if (entry !== undefined && entry.staleAt > now) {
      this.hits++;
      if (name !== this.newest) {
        // Most recently used goes last.
        this.entries.delete(name);
        this.entries.set(name, entry);
        this.newest = name;
      }
      return entry;
    }
    if (entry !== undefined) this.delete(name);
    this.misses++;
    return undefined;
  }

  set(name: string, value: string, version: number, expiresAt: number | null): void {
    if (this.ttlMs <= 0 || this.maxEntries <= 0) return;
    const ttlEnd = this.now() + this.ttlMs;
    const staleAt = expiresAt === null ? ttlEnd : Math.min(ttlEnd, expiresAt);
    this.entries.delete(name);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(name, { value, version, staleAt });
    this.newest = name;
  }

  delete(name: string): void {
    this.entries.delete(name);
    if (name === this.newest) this.newest = undefined;
  }

  clear(): void {
    this.entries.clear();
    this.newest = undefined;
  }

  get hitRate(): number {
    const total = this.hits + this.misses;
    return total === 0 ? 0 : this.hits / total;
  }
}
