/** The provider's name in fingerprints, metrics labels, logs and errors. */
export const AWS_KMS_PROVIDER_NAME = 'aws-kms';

/** First byte of every wrapped key this provider stores; the KMS ciphertext blob follows. */
export const AWS_KMS_WRAP_FORMAT = 0xa1;

/** Encryption context entry that binds a wrapped key to its data key id (KMS authenticates it). */
export const DATA_KEY_ID_CONTEXT = 'nest-kms:data-key-id';

/** Encryption context entry that keeps these ciphertexts apart from other uses of the same KMS key. */
export const PURPOSE_CONTEXT = 'nest-kms:purpose';
export const PURPOSE_DATA_KEY = 'data-key';

/** Data keys are AES-256 keys. */
export const DATA_KEY_BYTES = 32;

/** KMS refuses ciphertext blobs longer than this. */
export const MAX_CIPHERTEXT_BLOB_BYTES = 6144;

/** The keyring stores fingerprints up to this length. */
export const MAX_FINGERPRINT_LENGTH = 128;

export const DEFAULT_CONNECT_TIMEOUT_MS = 3_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
