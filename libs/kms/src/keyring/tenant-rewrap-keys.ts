import type { KeyringStore } from './keyring-store.interface.js';
import { EVICTED_SHARE } from './held-tenant-keys.js';
import { flushKeyUsage } from './keyring-writes.js';
import type { TenantKeySet } from './tenant-key-set.js';
import type { TenantKeys } from './tenant-keys.js';

/** Tenants read by tag for one run and held at once; beyond it the earliest read are let go. */
export const REWRAP_TENANTS_HELD = 1_024;

/**
 * Tenants' keys for one re-encryption run, by the tag its envelopes' key ids carry: a tenant in
 * memory is used as it is; any other is read by tag once per run (not once per envelope, and
 * never made), held for the run, and let go at its end (or when REWRAP_TENANTS_HELD others came
 * after it): its seals added to its keys' usage counts, then zeroed. One run's only.
 */
export class TenantRewrapKeys {
  /** Sets read for this run, by tag, in the order they were read. */
  private readonly read = new Map<string, Promise<TenantKeySet>>();

  constructor(
    private readonly tenants: TenantKeys,
    private readonly store: Pick<KeyringStore, 'addEncryptions'>,
  ) {}

  /** The keys of the tenant with tag `tag`; a failure to read them is the answer for the run. */
  async of(tag: string): Promise<TenantKeySet> {
    const held = this.tenants.heldByTag(tag);
    if (held !== undefined) return held;
    let set = this.read.get(tag);
    if (set === undefined) {
      if (this.read.size >= REWRAP_TENANTS_HELD) await this.letGo(this.read.size / EVICTED_SHARE);
      set = this.tenants.loadByTag(tag);
      // Read once: a tenant that failed to load fails each of its envelopes the same way.
      set.catch(() => undefined);
      this.read.set(tag, set);
    }
    return set;
  }

  /** Counts and zeroes every set read for the run. */
  close(): Promise<void> {
    return this.letGo(this.read.size);
  }

  /** The `count` earliest sets read: their seals counted, then zeroed, even if counting fails. */
  private async letGo(count: number): Promise<void> {
    const going = [...this.read].slice(0, Math.ceil(count));
    let failure: { error: unknown } | undefined;
    for (const [tag, reading] of going) {
      this.read.delete(tag);
      const set = await reading.catch(() => undefined);
      if (set === undefined) continue;
      try {
        await flushKeyUsage(set.keys.values(), this.store);
      } catch (error) {
        failure ??= { error };
      } finally {
        set.zero();
      }
    }
    if (failure) throw failure.error;
  }
}
