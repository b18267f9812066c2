import { SecretsError } from './secrets.error.js';

/**
 * The audit record could not be written, so the operation was refused: with audit.failClosed,
 * or without it when the buffer of unwritten records is full (audit.maxBufferedRecords).
 */
export class AuditWriteFailedError extends SecretsError {
  readonly code = 'SECRET_AUDIT_FAILED';
  constructor(
    readonly action: string,
    readonly why: 'failClosed' | 'bufferFull' = 'failClosed',
  ) {
    super(
      why === 'failClosed'
        ? `The audit record for ${action} could not be written; the operation was refused (audit.failClosed)`
        : `The audit record for ${action} could not be written and the audit buffer is full (audit.maxBufferedRecords); the operation was refused until the database takes the buffered records`,
    );
  }
}
