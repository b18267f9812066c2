export { SecretsModule } from './secrets.module.js';
export type { SecretsModuleExtras } from './secrets.module-definition.js';
export { SecretsService } from './secrets.service.js';
export { TenantSecrets } from './tenant-secrets.js';
export { SecretsAuditTrail, AUDIT_TRAIL_READ_MAX } from './audit/secrets-audit-trail.js';
export type {
  AuditTrailProblem,
  AuditTrailRecord,
  AuditTrailVerification,
} from './audit/audit-trail.interface.js';
export { AUDIT_SEALING_JOB } from './audit/audit-sealing.js';
export { SecretRef } from './secret-ref.js';
export { InjectSecret } from './secrets.decorators.js';
export { getSecretToken } from './secrets.utils.js';
export { SECRETS_ENTITIES, SECRETS_MIGRATIONS } from './secrets.constants.js';
export { SECRETS_EVENTS, SECRETS_MESSAGES } from './secrets.messages.js';
export { MAX_SECRET_VALUE_BYTES, SECRET_NAME_PATTERN } from './secrets.validation.js';
export { SECRETS_BATCH_MAX_NAMES, SECRETS_LIST_MAX_LIMIT } from './listing/listing.validation.js';
export type {
  SecretsAuditOptions,
  SecretsLifecycleOptions,
  SecretsModuleOptions,
  SecretsOptionsFactory,
} from './interfaces/secrets-module-options.interface.js';
export type {
  ActorOptions,
  CountSecretsOptions,
  GetSecretOptions,
  ListSecretsOptions,
  ListSecretsPageOptions,
  RotateSecretOptions,
  SecretChange,
  SecretMetadata,
  SecretReadFailure,
  SecretReadResult,
  SecretsFilter,
  SecretsPage,
  SecretsStatus,
  SecretValueResult,
  SecretVersionMetadata,
  SecretVersionStage,
  SetSecretOptions,
} from './interfaces/secret-operations.interface.js';
export type {
  SecretsBackupResult,
  SecretsRestoreResult,
} from './backup/secrets-backup.interface.js';
export type {
  SecretRotationContext,
  SecretRotationFinishContext,
  SecretRotator,
  SecretRotatorOptions,
  SecretsLifecycleReport,
} from './lifecycle/secret-rotator.interface.js';
export { AUTO_ROTATION_ACTOR } from './lifecycle/auto-rotation.js';
export { SECRETS_LIFECYCLE_JOB } from './lifecycle/secrets-lifecycle.js';
export type { RotationPolicy } from './entities/secret.entity.js';
export { SecretEntity } from './entities/secret.entity.js';
export { SecretVersionEntity } from './entities/secret-version.entity.js';
export { AuditChainEntity } from './entities/audit-chain.entity.js';
export { SecretTagEntity } from './entities/secret-tag.entity.js';
export {
  SecretAuditEntity,
  type AuditAction,
  type AuditOutcome,
} from './entities/secret-audit.entity.js';
export { SecretsError } from './errors/secrets.error.js';
export { SecretNotFoundError } from './errors/secret-not-found.error.js';
export { SecretsNotInitializedError } from './errors/secrets-not-initialized.error.js';
export { SecretExpiredError } from './errors/secret-expired.error.js';
export { SecretDeletedError } from './errors/secret-deleted.error.js';
export { SecretVersionNotFoundError } from './errors/secret-version-not-found.error.js';
export { InvalidSecretInputError } from './errors/invalid-secret-input.error.js';
export { SecretStateError } from './errors/secret-state.error.js';
export { SecretRotationUnscheduledError } from './errors/secret-rotation-unscheduled.error.js';
export { AuditWriteFailedError } from './errors/audit-write-failed.error.js';
export { InvalidBackupError } from './errors/invalid-backup.error.js';
export { SecretRestoreConflictError } from './errors/secret-restore-conflict.error.js';
