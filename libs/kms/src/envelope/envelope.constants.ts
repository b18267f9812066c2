/** The format of the public API's envelopes (`encryptData`, `encryptToString`). */
export const ENVELOPE_VERSION = 1;
/** The format of envelopes sealed for one of nest-kms's own stores: v1 plus a purpose. */
export const PURPOSE_ENVELOPE_VERSION = 2;
export const ENVELOPE_ALG = 'aes-256-gcm';
/** Prefix of the compact single-string form. */
export const COMPACT_PREFIX = 'kms1';
/** Prefix of the compact form of a purpose envelope: `kms2.<purpose>.…`. */
export const PURPOSE_COMPACT_PREFIX = 'kms2';
/**
 * What nest-kms itself seals envelopes for, apart from the public API. The purpose is part of the
 * authenticated header, so an envelope made through `encryptData` never opens as a secret value
 * or a column value, whatever AAD its caller chose, and those never open through `decryptData`.
 */
export const ENVELOPE_PURPOSES = ['secret', 'column'] as const;
/** Data key ids: short, URL- and column-safe, no separator characters. */
export const KEY_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** Largest plaintext an envelope carries (64 MiB); larger values belong in a file under a data key. */
export const MAX_PLAINTEXT_BYTES = 64 * 1024 * 1024;
/** Largest encoded AAD (8 KiB): context, not payload. */
export const MAX_AAD_BYTES = 8 * 1024;
/** Most items encryptMany and decryptMany take in one call; more is a BatchTooLargeError. */
export const KMS_MAX_BATCH_ITEMS = 1_000;
