/**
 * `@nest-kms/kms/extension`: what nest-kms's own libraries (@nest-kms/secrets, @nest-kms/config)
 * build on. For nest-kms's own libraries; an application never needs it, and nothing here is
 * covered by the public API's compatibility promise.
 */
export { KmsStorage, type KmsStorageExtension } from './storage/kms-storage.js';
export { isUniqueViolation } from './storage/unique-violation.js';
export { KmsNotifications, type KmsNotification } from './notifications/kms-notifications.js';
export { KMS_SCHEDULER_REGISTRY } from './kms.constants.js';
export { LifecycleInterval } from './rotation/lifecycle-interval.js';
export { epochMillis } from './entities/epoch-millis.transformer.js';
export type { EnvelopeColumn } from './reencryption/envelope-column.js';
export {
  purposeEnvelopes,
  storeEnvelopeKeyId,
  tenantPurposeEnvelopes,
  type KeptPlaintext,
  type PurposeEnvelopes,
  type PurposeSealer,
  type SealedStoreValue,
  type TenantPurposeEnvelopes,
} from './keyring/purpose-envelopes.js';
export { checkTenant } from './envelope/tenant-id.js';
export { SealedExports } from './core/sealed-exports.js';
export type { SealedExport } from './keyring/sealed-export.js';
export {
  environmentSetting,
  environmentWholeNumber,
  TRANSIENT_NETWORK_CODES,
} from './master-key/provider-settings.js';
export { KmsRegion } from './core/kms-region.js';
export {
  KmsSecurityEvents,
  type KmsSecurityEvent,
  type KmsSecurityListener,
} from './core/kms-security-events.js';
export { ActorBlocklist } from './core/actor-blocklist.js';
export { keyringSubkey, type KeyringSubkeySource } from './keyring/keyring-subkeys.js';
