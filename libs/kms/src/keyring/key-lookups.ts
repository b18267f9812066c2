import { DataKeyNotFoundError } from '../errors/data-key-not-found.error.js';
import type { DataKey } from './data-key.js';
import type { KeyringStore, StoredDataKey } from './keyring-store.interface.js';

/** How long an id that the database did not have is answered from memory (bounds DB reads for junk ids). */
const MISSING_TTL_MS = 5_000;
const MISSING_MAX = 1_024;

/**
 * Reads of data keys the keyring does not hold: one store read per id however many callers ask
 * at once, and an id the store did not have is refused from memory for a while, so envelopes
 * naming unknown keys cannot turn into a read each.
 */
export class KeyLookups {
  private readonly lookups = new Map<string, Promise<DataKey>>();
  private readonly missing = new Map<string, number>();

  constructor(
    private readonly store: KeyringStore,
    private readonly now: () => number,
    /** Unwraps a found row and adds it to the keyring. */
    private readonly adopt: (row: StoredDataKey) => Promise<DataKey>,
  ) {}

  /**
   * The key `id` from the store, or DataKeyNotFoundError. `heardOf`: another replica (or the
   * replication apply) just said the key exists, so a recent miss is not repeated from memory.
   */
  find(id: string, heardOf = false): Promise<DataKey> {
    if (heardOf) this.missing.delete(id);
    const missedAt = this.missing.get(id);
    if (missedAt !== undefined && this.now() - missedAt < MISSING_TTL_MS) {
      return Promise.reject(new DataKeyNotFoundError(id));
    }
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
      if (this.missing.size >= MISSING_MAX) this.missing.clear();
      this.missing.set(id, this.now());
      throw new DataKeyNotFoundError(id);
    }
    return this.adopt(row);
  }
}
