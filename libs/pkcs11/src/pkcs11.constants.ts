/** The provider's short name, in fingerprints, metrics labels, logs and errors. */
export const PKCS11_PROVIDER_NAME = 'pkcs11';

/** First byte of every wrapped key this provider makes: the layout below, version 1. */
export const WRAP_FORMAT = 0x01;
export const IV_BYTES = 12;
export const TAG_BYTES = 16;
export const DATA_KEY_BYTES = 32;
/** 0x01 | iv (12) | ciphertext (32) + tag (16), as C_Encrypt with CKM_AES_GCM returns them. */
export const WRAPPED_BYTES = 1 + IV_BYTES + DATA_KEY_BYTES + TAG_BYTES;
/** The master key is AES-256: CKA_VALUE_LEN of the token key. */
export const MASTER_KEY_BYTES = 32;

/** Prefix of the GCM additional data; the data key id follows it, so the id is authenticated. */
export const DATA_KEY_BINDING_PREFIX = 'nest-kms/data-key/v1:';

/** Longest fingerprint the keyring stores. */
export const FINGERPRINT_MAX_CHARS = 128;

export const DEFAULT_CONNECT_TIMEOUT_MS = 3_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
