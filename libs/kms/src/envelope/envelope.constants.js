export const ENVELOPE_VERSION = 1;
export const ENVELOPE_ALG = 'aes-256-gcm';
export const COMPACT_PREFIX = 'kms1';
export const KEY_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
export const MAX_PLAINTEXT_BYTES = 64 * 1024 * 1024;
export const MAX_AAD_BYTES = 8 * 1024;
//# sourceMappingURL=envelope.constants.js.map
