import { DataKeyNotFoundError } from '../errors/data-key-not-found.error.js';
import { DataKeyNotReplicatedError } from '../errors/data-key-not-replicated.error.js';
import type { DataKey } from './data-key.js';
import type { KeyringStore, StoredDataKey } from './keyring-store.interface.js';
import { RecentMisses } from './recent-misses.js';

/** Destroyed key ids a replica region remembers (ids of keys it heard were destroyed). */
const DESTROYED_MAX = 1_024;

/**
 * Reads of data keys the keyring does not hold: one store read per id however many callers ask
 * at once, and an id the store did not have is refused from memory for a while, so envelopes
 * naming unknown keys cannot turn into a read each. In a replica region a key the store does
 * not have is most likely still on its way (replication lag): it is refused as not replicated
 * yet (retryable), unless this process heard that the primary destroyed it.
 */
export class KeyLookups {
  private readonly lookups = new Map<string, Promise<DataKey>>();
  private readonly missing: RecentMisses;
  private readonly destroyedIds = new Set<string>();

  constructor(
    private readonly store: KeyringStore,
    now: () => number,
    /** Unwraps a found row and adds it to the keyring. */
    private readonly adopt: (row: StoredDataKey) => Promise<DataKey>,
    /** A replica region: its rows arrive by replication, possibly late. */
    private readonly replica = false,
  ) {
    this.missing = new RecentMisses(now);
  }

  /**
   * The key `id` from the store, or DataKeyNotFoundError (DataKeyNotReplicatedError in a
   * replica region). `heardOf`: another replica (or the replication apply) just said the key
   * exists, so a recent miss is not repeated from memory.
   */
  find(id: string, heardOf = false): Promise<DataKey> {
    if (heardOf) this.missing.delete(id);
    if (this.missing.has(id)) return Promise.reject(this.notFound(id));
    let lookup = this.lookups.get(id);
    if (!lookup) {
      lookup = this.lookUp(id).finally(() => this.lookups.delete(id));
      this.lookups.set(id, lookup);
    }
    return lookup;
  }

  private async lookUp(id: string): Promise<DataKey> {
    const row = await this.store.findKey(id);
    if (!row) {
      this.missing.add(id);
      throw this.notFound(id);
    }
    return this.adopt(row);
  }

  /** A key destroyed elsewhere: a replica region refuses it as not found, not as on its way. */
  destroyed(id: string): void {
    if (!this.replica) return;
    if (this.destroyedIds.size >= DESTROYED_MAX) this.destroyedIds.clear();
    this.destroyedIds.add(id);
  }

  /**
   * What a key the store does not have is refused with: not replicated yet (retryable) in a
   * replica region, unless heard destroyed; else not found.
   */
  notFound(id: string): DataKeyNotFoundError | DataKeyNotReplicatedError {
    return this.replica && !this.destroyedIds.has(id)
      ? new DataKeyNotReplicatedError(id)
      : new DataKeyNotFoundError(id);
  }
}
