export { KmsModule } from './kms.module.js';
export { KmsService } from './kms.service.js';
export { KmsDatabase } from './storage/kms-database.js';
export type { KmsEnvelopeColumn } from './interfaces/kms-envelope-column.interface.js';
export { KmsHealthIndicator } from './health/kms-health.indicator.js';
export type {
  KmsDatabaseHealthOptions,
  KmsHealthResult,
} from './interfaces/kms-health.interface.js';
export type { ReencryptOptions } from './interfaces/reencrypt-options.interface.js';
export { KMS_DATA_KEY_ROTATION_JOB, KMS_REENCRYPTION_JOB } from './rotation/kms-jobs.constants.js';
export { withDatabaseTimeouts } from './storage/database-timeouts.js';
export type {
  KmsConnectionOptions,
  KmsDatabaseOptions,
  KmsMasterKeyCallOptions,
  KmsModuleOptions,
  KmsOptionsFactory,
  KmsRegionOptions,
  KmsReencryptionOptions,
  KmsRotationOptions,
  KmsTenantMasterKeyOptions,
  LegacyEnvelopesMode,
  TenantMasterKeyAnswer,
} from './interfaces/kms-module-options.interface.js';
export { KEYRING_MASTER_KEY } from './keyring/keyring-master-key.js';
export {
  KmsMetrics,
  type MasterKeyCallLabels,
  type MasterKeyTimingLabels,
} from './metrics/kms-metrics.js';
export type { ReencryptionProgress, ReencryptionResult } from './reencryption/reencryption.job.js';
export type { MasterKeyRotation } from './keyring/keyring.js';
export type {
  DecryptOptions,
  EncryptOptions,
} from './interfaces/kms-operation-options.interface.js';
export type {
  BatchEnvelope,
  BatchEnvelopeItem,
  BatchFailure,
  BatchPlaintext,
  BatchPlaintextItem,
  BatchResult,
  BatchSuccess,
  DecryptManyOptions,
  EncryptManyOptions,
} from './interfaces/kms-batch.interface.js';
export { KMS_MAX_BATCH_ITEMS } from './envelope/envelope.constants.js';
export type { KmsStatus } from './interfaces/kms-status.interface.js';
export type {
  DestroyTenantOptions,
  TenantDestruction,
} from './interfaces/tenant-destruction.interface.js';
export type { DataKeyInfo } from './interfaces/data-key-info.interface.js';
export type { MasterKeyInfo } from './interfaces/master-key-info.interface.js';
export type { DataKeyRotation } from './interfaces/data-key-rotation.interface.js';
export type { AadInput, EnvelopePurpose, EnvelopeV1 } from './envelope/envelope.interface.js';
export {
  fromCompactEnvelope,
  toCompactEnvelope,
  validateEnvelope,
} from './envelope/envelope-conversion.js';
export type {
  MasterKeyCallOptions,
  MasterKeyProvider,
} from './master-key/master-key-provider.interface.js';
export {
  MASTER_KEY_PROVIDER_PACKAGES,
  masterKeyProviderFromEnvironment,
  type MasterKeyEnvironment,
} from './master-key/provider-packages.js';
export { KMS_MASTER_KEY_PROBE_JOB } from './core/master-key-guard.js';
export type {
  ExportedDataKey,
  ExportedKeyring,
  ExportedTenantKey,
  TenantKeyUnusable,
} from './keyring/exported-keyring.js';
export { LocalMasterKeyProvider } from './master-key/local-master-key.provider.js';
export { KMS_ENTITIES, KMS_MIGRATIONS } from './storage/kms-schema.js';
export { KMS_EVENTS } from './kms.messages.js';
export { KmsDataKeyEntity } from './entities/kms-data-key.entity.js';
export { createPrivateSqliteFile } from './storage/private-sqlite-file.js';
export { KmsKeyringEntity } from './entities/kms-keyring.entity.js';
export { KmsMasterKeyWrapEntity } from './entities/kms-master-key-wrap.entity.js';
export { NestKmsError } from './errors/nest-kms.error.js';
export { KmsError } from './errors/kms.error.js';
export { quotedInput } from './errors/quoted-input.js';
export { AadMismatchError } from './errors/aad-mismatch.error.js';
export { DataKeyNotFoundError } from './errors/data-key-not-found.error.js';
export { DataKeyNotInMemoryError } from './errors/data-key-not-in-memory.error.js';
export { DataKeyNotReplicatedError } from './errors/data-key-not-replicated.error.js';
export { DataKeyInUseError } from './errors/data-key-in-use.error.js';
export { DecryptionFailedError } from './errors/decryption-failed.error.js';
export { EnvelopePurposeError } from './errors/envelope-purpose.error.js';
export { LegacyEnvelopeRefusedError } from './errors/legacy-envelope-refused.error.js';
export { InvalidInputError } from './errors/invalid-input.error.js';
export { InvalidMasterKeyError } from './errors/invalid-master-key.error.js';
export { InvalidExportError } from './errors/invalid-export.error.js';
export { KeyringIntegrityError } from './errors/keyring-integrity.error.js';
export { KmsConfigurationError } from './errors/kms-configuration.error.js';
export { DatabaseUnavailableError } from './errors/database-unavailable.error.js';
export { KmsNotInitializedError } from './errors/kms-not-initialized.error.js';
export { MalformedEnvelopeError } from './errors/malformed-envelope.error.js';
export { MasterKeyMismatchError } from './errors/master-key-mismatch.error.js';
export { MasterKeyMissingError } from './errors/master-key-missing.error.js';
export { RegionReadOnlyError } from './errors/region-read-only.error.js';
export { ActorBlockedError } from './errors/actor-blocked.error.js';
export { InvalidTenantError } from './errors/invalid-tenant.error.js';
export { TenantMismatchError } from './errors/tenant-mismatch.error.js';
export { TenantDestructionNotConfirmedError } from './errors/tenant-destruction-not-confirmed.error.js';
export { BatchTooLargeError } from './errors/batch-too-large.error.js';
export { MasterKeyProviderError } from './errors/master-key-provider.error.js';
export { MasterKeyUnavailableError } from './errors/master-key-unavailable.error.js';
export { UnsupportedCryptoParametersError } from './errors/unsupported-crypto-parameters.error.js';
export {
  EncryptedColumn,
  type BlindIndexOptions,
  type EncryptedColumnOptions,
  type RowAad,
  type RowTenant,
} from './columns/encrypted-column.decorator.js';
export type { EncryptedValueType } from './columns/column-value.js';
export {
  blindIndexOf,
  findByBlindIndex,
  findOneByBlindIndex,
  type BlindIndexFindOptions,
  type BlindIndexLookup,
} from './columns/blind-index.js';
export {
  encryptExistingRows,
  type ExistingRowsOptions,
  type ExistingRowsProgress,
  type ExistingRowsResult,
} from './columns/existing-rows.js';
export { ColumnDecryptionError } from './errors/column-decryption.error.js';
export { ColumnWriteError } from './errors/column-write.error.js';
export { ColumnNotServedError } from './errors/column-not-served.error.js';
