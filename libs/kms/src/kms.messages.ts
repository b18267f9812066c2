/**
 * Texts users grep for. The design document fixed these; error messages start with them and
 * may add a hint after, so `message.startsWith(...)` and log searches keep working.
 */
export const KMS_MESSAGES = {
  notInitialized: 'KMS not initialized',
  masterKeyLength: 'Master key must be 32 bytes',
  dataKeyNotFound: 'Data key not found',
  decryptionFailed: 'Decryption failed - authentication tag verification failed',
} as const;

/** Structured log event names (the design document's, so existing dashboards keep matching). */
export const KMS_EVENTS = {
  initialized: 'kms_initialized',
  dataKeyRotated: 'data_key_rotated',
  decryptionFailed: 'decryption_failed',
  developmentMasterKey: 'kms_development_master_key',
  dataKeyRotationFailed: 'data_key_rotation_failed',
  dataKeyDestroyed: 'data_key_destroyed',
  masterKeyRotated: 'master_key_rotated',
  masterKeyChangedElsewhere: 'master_key_changed_elsewhere',
  keyringResynced: 'keyring_resynced',
  reencryptionStarted: 'reencryption_started',
  reencryptionProgress: 'reencryption_progress',
  reencryptionCompleted: 'reencryption_completed',
  reencryptionFailed: 'reencryption_failed',
  legacyEnvelopesRefused: 'legacy_envelopes_refused',
  legacyEnvelopesAccepted: 'legacy_envelopes_accepted',
  masterKeyCallFailed: 'master_key_call_failed',
  masterKeyRecovered: 'master_key_recovered',
  masterKeyWaiting: 'master_key_waiting',
  masterKeyRemoved: 'master_key_removed',
  masterKeyUnverified: 'master_key_unverified',
  tenantKeyRotated: 'tenant_key_rotated',
  tenantKeysRewrapped: 'tenant_keys_rewrapped',
  tenantDestroyed: 'tenant_destroyed',
} as const;
