import { NestKmsError } from '@nest-kms/kms';

/**
 * Base of every error @nest-kms/config throws; a NestKmsError, so one `instanceof NestKmsError`
 * still catches it with the KMS's and the secrets store's. Never carries a configuration value.
 */
export abstract class ConfigError extends NestKmsError {}
