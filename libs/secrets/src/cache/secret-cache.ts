interface CacheEntry {
  value: string;
  version: number;
  /** Epoch ms after which the entry is stale: the cache TTL, or the secret's expiry if sooner. */
  staleAt: number;
  /** What the entry counts against the byte bound: its value's UTF-8 bytes plus the overhead. */
  bytes: number;
  /** The data key the value was sealed under, when known: destroying it drops the entry. */
  keyId: string | undefined;
}

export interface SecretCacheLimits {
  ttlMs: number;
  maxEntries: number;
  maxBytes: number;
}

/**
 * Heap bytes an entry takes besides its value's characters: the entry object, its Map slot and
 * the value string's header (bench/memory.bench.ts measures it; rounded up).
 */
export const CACHE_ENTRY_OVERHEAD_BYTES = 160;

/**
 * Decrypted values in memory: every entry has a TTL and never outlives its secret's expiry;
 * at most `maxEntries` and `maxBytes` (each value's UTF-8 bytes plus
 * CACHE_ENTRY_OVERHEAD_BYTES), least recently used out first (Map keeps insertion order). A
 * value that alone exceeds `maxBytes` is not cached.
 */
export class SecretCache {
  private readonly entries = new Map<string, CacheEntry>();
  /** The key last inserted: a hot key is already last, and moving it again is not free. */
  private newest: string | undefined;
  private totalBytes = 0;
  hits = 0;
  misses = 0;

  constructor(
    private readonly limits: SecretCacheLimits,
    private readonly now: () => number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** What the entries count against `maxBytes`. */
  get bytes(): number {
    return this.totalBytes;
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

  set(
    name: string,
    value: string,
    version: number,
    expiresAt: number | null,
    keyId?: string,
  ): void {
    // Whatever was cached for the name is older than this value: it goes even if this one is not kept.
    this.delete(name);
    const { ttlMs, maxEntries, maxBytes } = this.limits;
    if (ttlMs <= 0 || maxEntries <= 0) return;
    // Counted when a miss fills the cache, never on a hit; UTF-8 is never less than V8 holds.
    const bytes = Buffer.byteLength(value, 'utf8') + CACHE_ENTRY_OVERHEAD_BYTES;
    if (bytes > maxBytes) return;
    const ttlEnd = this.now() + ttlMs;
    const staleAt = expiresAt === null ? ttlEnd : Math.min(ttlEnd, expiresAt);
    while (this.entries.size >= maxEntries || this.totalBytes + bytes > maxBytes) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.delete(oldest.value);
    }
    this.entries.set(name, { value, version, staleAt, bytes, keyId });
    this.totalBytes += bytes;
    this.newest = name;
  }

  delete(name: string): void {
    const entry = this.entries.get(name);
    if (entry === undefined) return;
    this.entries.delete(name);
    this.totalBytes -= entry.bytes;
    if (name === this.newest) this.newest = undefined;
  }

  /**
   * Drops the entries sealed under `keyId` or whose name starts with `prefix`: a walk of the
   * whole cache, for the rare destruction of a key or a tenant, never on a read.
   */
  deleteWhere(match: { keyId?: string; prefix?: string }): void {
    const { keyId, prefix } = match;
    for (const [name, entry] of this.entries) {
      if (
        (keyId !== undefined && entry.keyId === keyId) ||
        (prefix !== undefined && name.startsWith(prefix))
      ) {
        this.delete(name);
      }
    }
  }

  clear(): void {
    this.entries.clear();
    this.totalBytes = 0;
    this.newest = undefined;
  }

  get hitRate(): number {
    const total = this.hits + this.misses;
    return total === 0 ? 0 : this.hits / total;
  }
}
