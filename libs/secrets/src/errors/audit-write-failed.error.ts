import { KmsError } from '@nest-kms/kms';

/** Fail-closed audit: the audit record could not be written, so the operation was refused. */
export class AuditWriteFailedError extends KmsError {
  readonly code = 'SECRET_AUDIT_FAILED';
  constructor(readonly action: string) {
    super(
      `The audit record for ${action} could not be written; the operation was refused (audit.failClosed)`,
    );
  }
}
