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
  /** Decryptions refused since start (bad envelopes, wrong keys, AAD mismatches). */
  decryptionFailures: number;
}
