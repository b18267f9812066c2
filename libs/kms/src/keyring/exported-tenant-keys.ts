import { DataKeyNotFoundError } from '../errors/data-key-not-found.error.js';
import type { DataKey } from './data-key.js';
import { fromExportedKey, type ExportedTenantKey } from './exported-keyring.js';
import type { KeySource } from './key-source.js';
import type { StoredDataKey } from './keyring-store.interface.js';

/**
 * The tenants' keys of an export (a backup) made in another keyring, as the keys an open may use:
 * each unwrapped on first use under this keyring's master key, held only until zero(), never
 * stored, never sealed under.
 */
export class ExportedTenantKeys implements KeySource {
  readonly forTenant = true;
  private readonly entries: ReadonlyMap<string, ExportedTenantKey>;
  private readonly unwrapped = new Map<string, DataKey>();

  readonly materialOf = (keyId: string): Buffer | undefined => this.unwrapped.get(keyId)?.material;

  constructor(
    keys: readonly ExportedTenantKey[],
    private readonly unwrap: (row: StoredDataKey) => Promise<DataKey>,
  ) {
    this.entries = new Map(keys.map((key) => [key.id, key]));
  }

  get active(): DataKey {
    throw new DataKeyNotFoundError("(a backup's keys only open)");
  }

  get(id: string): DataKey | undefined {
    return this.unwrapped.get(id);
  }

  owns(id: string): boolean {
    return this.entries.has(id);
  }

  async fetch(id: string): Promise<DataKey> {
    const held = this.unwrapped.get(id);
    if (held) return held;
    const entry = this.entries.get(id);
    if (!entry) throw new DataKeyNotFoundError(id);
    const key = await this.unwrap(fromExportedKey(entry));
    this.unwrapped.set(id, key);
    return key;
  }

  /** Zeroes every key unwrapped here. */
  zero(): void {
    for (const key of this.unwrapped.values()) key.material.fill(0);
    this.unwrapped.clear();
  }
}
