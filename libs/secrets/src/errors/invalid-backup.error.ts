import { SecretsError } from './secrets.error.js';

/**
 * A secrets backup opened (it is authentic, sealed under this master key) but its payload is
 * not one this version restores: another format or version, or a malformed entry. Nothing was
 * written. An altered or foreign artifact is an InvalidExportError instead.
 */
export class InvalidBackupError extends SecretsError {
  readonly code = 'SECRET_INVALID_BACKUP';
  constructor(readonly problem: string) {
    super(`Invalid secrets backup: ${problem}; nothing was written`);
  }
}
