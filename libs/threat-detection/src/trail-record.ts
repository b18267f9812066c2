import type { AuditAction, AuditTrailRecord } from '@nest-kms/secrets';

/**
 * One record of the shared audit trail, as the detector reads it: the secrets store's sealed
 * record (never a value).
 */
export type TrailRecord = AuditTrailRecord;

/** What a trail record did: the secrets store's operations and the KMS's security events. */
export type TrailAction = AuditAction;
