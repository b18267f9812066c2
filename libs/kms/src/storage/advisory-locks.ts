/** Postgres advisory lock (two-int form) held while the shipped migrations run: 'nkms', 1. */
export const MIGRATION_ADVISORY_LOCK: [number, number] = [0x6e6b6d73, 1];
/** Postgres advisory lock held by the one replica running the re-encryption job: 'nkms', 2. */
export const REENCRYPTION_ADVISORY_LOCK: [number, number] = [0x6e6b6d73, 2];
