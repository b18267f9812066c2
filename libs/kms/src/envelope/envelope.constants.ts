export const ENVELOPE_VERSION = 1;
export const ENVELOPE_ALG = 'aes-256-gcm';
/** Prefix of the compact single-string form. */
export const COMPACT_PREFIX = 'kms1';
/** Data key ids: short, URL- and column-safe, no separator characters. */
export const KEY_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** Largest plaintext an envelope carries (64 MiB); larger values belong in a file under a data key. */
export const MAX_PLAINTEXT_BYTES = 64 * 1024 * 1024;
/** Largest encoded AAD (8 KiB): context, not payload. */
export const MAX_AAD_BYTES = 8 * 1024;
