import type { EnvelopePurpose } from '../envelope/envelope.interface.js';
import type { TenantRewrapKeys } from '../keyring/tenant-rewrap-keys.js';
import type { ReencryptionProgress } from './reencryption-progress.js';
import type { RewrapKeys } from './rewrap-thread.js';

/** What the job asks of the KMS: the active key, and moving one envelope to it. */
export interface EnvelopeRewrapper {
  activeKeyId(): string;
  /**
   * The same plaintext and AAD, sealed under the active key for the column's purpose (a store's
   * format-v1 value moves to v2); never returns the plaintext. A tenant's envelope is sealed
   * under its tenant's active key, its keys taken from `tenants` (without them it fails).
   */
  rewrap(
    compact: string,
    purpose: EnvelopePurpose | undefined,
    tenants?: TenantRewrapKeys,
  ): Promise<{ envelope: string; keyId: string }>;
  /** Tenants' keys for one run (closed at its end); undefined where there are none. */
  tenantKeys?(): TenantRewrapKeys | undefined;
  /**
   * For a rewrap on another thread: fresh copies of the keys in memory (the active one among
   * them), each in an ArrayBuffer of its own to transfer. Without it the job rewraps here.
   */
  keysForRewrap?(): RewrapKeys;
  /** Counts `count` envelopes sealed under `keyId` on another thread, as rewrap() counts its own. */
  sealedElsewhere?(keyId: string, count: number): void;
}

export interface ReencryptionResult {
  /** False when another replica holds the job: nothing was done here. */
  readonly ran: boolean;
  readonly moved: number;
  readonly failed: number;
  /**
   * Envelopes still under retired keys after the run (failures, or written meanwhile), with
   * destroyed tenants' envelopes (under keys that no longer exist), which `failed` counts too.
   */
  readonly remaining: number;
  readonly durationMs: number;
  readonly envelopesPerSecond: number;
}

export interface ReencryptionRunOptions {
  readonly batchSize: number;
  readonly onProgress?: (progress: ReencryptionProgress) => void;
  /** Only these entities' columns (default: every registered column). */
  readonly entities?: readonly Function[];
}
