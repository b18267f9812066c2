import { NestKmsError } from './nest-kms.error.js';

/**
 * Base of every error @nest-kms/kms throws. `code` is stable across versions: match on it, not on
 * the message. Messages and fields never carry plaintext or key material.
 */
export abstract class KmsError extends NestKmsError {}
