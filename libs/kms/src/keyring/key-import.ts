import { timingSafeEqual } from 'node:crypto';
import { DataKeyNotFoundError } from '../errors/data-key-not-found.error.js';
import { KeyringIntegrityError } from '../errors/keyring-integrity.error.js';
import type { DataKey } from './data-key.js';
import type { StoredDataKey } from './keyring-store.interface.js';

/** A key of an export that the keyring does not hold yet, with the row it came from. */
export interface FreshKey {
  readonly key: DataKey;
  readonly row: StoredDataKey;
}

/**
 * The keys of an export that the keyring lacks. Each must unwrap here (its id is bound into the
 * wrap), and an id the keyring already holds must carry the same key (compared in constant
 * time). Throws before anything is written; the plain copies it does not return are zeroed.
 */
export async function freshImportedKeys(
  rows: readonly StoredDataKey[],
  unwrap: (row: StoredDataKey) => Promise<DataKey>,
  /** The keyring's key of that id, read from the store when another replica made it. */
  fetch: (id: string) => Promise<DataKey>,
): Promise<FreshKey[]> {
  const incoming: DataKey[] = [];
  const fresh: FreshKey[] = [];
  try {
    for (const row of rows) incoming.push(await unwrap(row));
    for (const [at, key] of incoming.entries()) {
      const existing = await fetch(key.id).catch((error: unknown) => {
        if (error instanceof DataKeyNotFoundError) return undefined;
        throw error;
      });
      if (!existing) fresh.push({ key, row: rows[at] });
      else if (!timingSafeEqual(existing.material, key.material)) {
        throw new KeyringIntegrityError(
          key.id,
          'the imported key differs from the stored key of the same id',
        );
      }
    }
  } catch (error) {
    for (const key of incoming) key.material.fill(0);
    throw error;
  }
  const kept = new Set(fresh.map(({ key }) => key));
  for (const key of incoming) if (!kept.has(key)) key.material.fill(0);
  return fresh;
}
