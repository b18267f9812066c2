/** How long a miss is answered from memory (bounds database reads for junk ids and tenants). */
export const MISS_REMEMBERED_MS = 5_000;
/** Misses remembered at once; beyond it they are all forgotten (a flood of junk starts over). */
const MISSES_HELD = 1_024;

/**
 * What the database did not have moments ago (a key id, a tenant's tag), so that asking for it
 * again does not read again for MISS_REMEMBERED_MS, unless told it now exists.
 */
export class RecentMisses {
  private readonly missedAt = new Map<string, number>();

  constructor(private readonly now: () => number) {}

  has(key: string): boolean {
    const at = this.missedAt.get(key);
    if (at === undefined) return false;
    // A clock stepped back does not stretch a miss.
    const age = this.now() - at;
    return age >= 0 && age < MISS_REMEMBERED_MS;
  }

  add(key: string): void {
    if (this.missedAt.size >= MISSES_HELD) this.missedAt.clear();
    this.missedAt.set(key, this.now());
  }

  delete(key: string): void {
    this.missedAt.delete(key);
  }

  /** Forgets every miss (what they said may have changed unheard). */
  clear(): void {
    this.missedAt.clear();
  }
}
