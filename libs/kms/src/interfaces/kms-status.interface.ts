import type { ReencryptionResult } from '../reencryption/reencryption.job.js';

/** `KmsService.getStatus()`: the design document's fields plus what an operator needs next. */
export interface KmsStatus {
  initialized: boolean;
  masterKeyPresent: boolean;
  /** Non-secret name of the master key (e.g. `local:<hex>`), null before initialisation. */
  masterKeyFingerprint: string | null;
  dataKeysCount: number;
  activeKeyId: string | null;
  /** ISO time the active data key was created (and activated). */
  activeKeyCreatedAt: string | null;
  activeKeyAgeMs: number | null;
  /** Envelopes sealed under the active key by every replica (as of the last flush) plus this one's since. */
  activeKeyEncryptions: number | null;
  /** When the scheduler rotates the active key for age (null when age rotation is off). */
  nextRotationDueAt: string | null;
  /** Data-key rotations this process made since start (manual, age, usage limit). */
  dataKeyRotations: number;
  /** Decryptions refused since start (bad envelopes, wrong keys, AAD mismatches). */
  decryptionFailures: number;
  /** Listening for other replicas' rotations and secret changes (Postgres LISTEN/NOTIFY). */
  replicaNotifications: boolean;
  /** The last re-encryption run by this process, or null. */
  lastReencryption: ReencryptionResult | null;
  /** Tenants whose keys this process holds in memory (loaded on first use, at most 10,000). */
  tenantsInMemory: number;
}
