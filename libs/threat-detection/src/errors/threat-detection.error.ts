import { NestKmsError } from '@nest-kms/kms';

/**
 * Base of every error @nest-kms/threat-detection throws; a NestKmsError, so one
 * `instanceof NestKmsError` still catches it with the KMS's own. Never carries a secret value.
 */
export abstract class ThreatDetectionError extends NestKmsError {}
