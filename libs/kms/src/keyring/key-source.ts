import type { DataKey } from './data-key.js';

/**
 * The data keys one seal or open may use: the keyring's own, or one tenant's. An envelope under
 * a key of another source is refused (TenantMismatchError) before any key is looked up.
 */
export interface KeySource {
  /** The key new envelopes are sealed under. */
  readonly active: DataKey;
  /** A key of this source already in memory, or undefined. */
  get(id: string): DataKey | undefined;
  /** A key of this source not in memory yet (another replica made it): from the database. */
  fetch(id: string): Promise<DataKey>;
  /** Whether an envelope under `id` belongs to this source (checked on the slow path). */
  owns(id: string): boolean;
  /** get(id)?.material, as a function the usual envelope's fast path calls. */
  readonly materialOf: (keyId: string) => Buffer | undefined;
  /** Whether these are a tenant's keys (for the error a foreign envelope gets). */
  readonly forTenant: boolean;
  /**
   * When keys a tenant's own master key unwrapped are due to be unwrapped again (epoch ms), and
   * what they opened stops being kept; absent or Infinity otherwise.
   */
  readonly expiresAt?: number;
}
