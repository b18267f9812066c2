export const KMS_MESSAGES = {
  notInitialized: 'KMS not initialized',
  masterKeyLength: 'Master key must be 32 bytes',
  dataKeyNotFound: 'Data key not found',
  decryptionFailed: 'Decryption failed - authentication tag verification failed',
};
export const KMS_EVENTS = {
  initialized: 'kms_initialized',
  dataKeyRotated: 'data_key_rotated',
  decryptionFailed: 'decryption_failed',
  developmentMasterKey: 'kms_development_master_key',
};
//# sourceMappingURL=kms.messages.js.map
