/** The provider's name in metrics, logs, errors and fingerprints. */
export const AZURE_KEY_VAULT_PROVIDER_NAME = 'azure-key-vault';

/** First byte of every wrapped key this provider makes: the layout below may change one day. */
export const AZURE_KEY_VAULT_WRAP_FORMAT = 0x01;

/** The key wrap algorithms this provider speaks, with the byte that names each in a wrapped key. */
export const WRAP_ALGORITHM_IDS = { 'RSA-OAEP-256': 0x01, A256KW: 0x02 } as const;

/** Key types (`kty`) whose keys can do each algorithm, as Key Vault and Managed HSM name them. */
export const KEY_TYPES_FOR = {
  'RSA-OAEP-256': ['RSA', 'RSA-HSM'],
  A256KW: ['oct', 'oct-HSM'],
} as const;

export const DATA_KEY_BYTES = 32;

/** SHA-256 of the data key id: binds a wrapped key to its row. */
export const BINDING_BYTES = 32;

/**
 * Random bytes wrapped along: AES key wrap (RFC 3394) is deterministic, and without them the same
 * data key would wrap to the same bytes, telling a reader of the table which rows share a key.
 */
export const NONCE_BYTES = 16;

/** Data key, binding, nonce: what the vault wraps. */
export const BOUND_KEY_BYTES = DATA_KEY_BYTES + BINDING_BYTES + NONCE_BYTES;

/** RFC 3394 adds one 8-byte block: A256KW output for the 80-byte bound key. */
export const A256KW_WRAPPED_BYTES = BOUND_KEY_BYTES + 8;

/** Domain separation of the data key id binding; the same label the local provider binds with. */
export const DATA_KEY_BINDING_LABEL = 'nest-kms/data-key/v1:';

export const DEFAULT_CONNECT_TIMEOUT_MS = 3_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

/** The keyring stores fingerprints of at most this many characters. */
export const MAX_FINGERPRINT_LENGTH = 128;

/** The `code` of the error a connection that took longer than connectTimeoutMs fails with. */
export const CONNECT_TIMEOUT_CODE = 'KMS_AZURE_CONNECT_TIMEOUT';
