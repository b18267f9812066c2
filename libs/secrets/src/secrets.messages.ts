/** The design document's text for a missing secret; SecretNotFoundError messages start with it. */
export const SECRETS_MESSAGES = {
  notFound: 'Secret not found',
} as const;

/** Structured log event names (the design document's `secret_*`). */
export const SECRETS_EVENTS = {
  created: 'secret_created',
  updated: 'secret_updated',
  read: 'secret_read',
  rotated: 'secret_rotated',
  deleted: 'secret_deleted',
  recovered: 'secret_recovered',
  destroyed: 'secret_destroyed',
  expired: 'secret_expired',
  readExpired: 'secret_read_expired',
  rotationFailed: 'secret_rotation_failed',
  restored: 'secrets_restored',
  auditFailed: 'secret_audit_failed',
  auditFlushFailed: 'secret_audit_flush_failed',
  auditFlushRecovered: 'secret_audit_flush_recovered',
  auditSealed: 'secret_audit_sealed',
  auditBufferFull: 'secret_audit_buffer_full',
} as const;
