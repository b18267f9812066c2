import type { DataKey } from './data-key.js';
import type { StoredDataKey } from './keyring-store.interface.js';

/** Unwraps in flight at once when the keyring loads. */
const PARALLEL_UNWRAPS = 8;

/**
 * Every row's key: the one `held` in memory, else unwrapped, PARALLEL_UNWRAPS at a time (against
 * a remote KMS each unwrap is a round trip, so a keyring of many keys starts in a few). On a
 * failure, what was unwrapped here is zeroed, once every unwrap under way has settled.
 */
export async function keysOfRows(
  rows: readonly StoredDataKey[],
  held: ReadonlyMap<string, DataKey>,
  unwrap: (row: StoredDataKey) => Promise<DataKey>,
): Promise<DataKey[]> {
  const keys: (DataKey | undefined)[] = Array.from({ length: rows.length });
  let failed: { error: unknown } | undefined;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (failed === undefined && next < rows.length) {
      const at = next++;
      try {
        keys[at] = held.get(rows[at].id) ?? (await unwrap(rows[at]));
      } catch (error) {
        failed ??= { error };
      }
    }
  };
  const workers = Math.min(PARALLEL_UNWRAPS, rows.length);
  await Promise.all(Array.from({ length: workers }, worker));
  if (failed !== undefined) {
    for (const key of keys) if (key && !held.has(key.id)) key.material.fill(0);
    throw failed.error;
  }
  return keys as DataKey[];
}
