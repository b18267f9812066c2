import { KmsError } from './kms.error.js';

/**
 * A write to an encrypted column that cannot be encrypted as the column requires, refused before
 * anything reaches the database (e.g. an update by criteria: the row it binds to is unknown).
 */
export class ColumnWriteError extends KmsError {
  readonly code = 'KMS_COLUMN_WRITE_REFUSED';
  constructor(
    readonly entity: string,
    readonly column: string,
    problem: string,
  ) {
    super(`Cannot encrypt ${entity}.${column}: ${problem}`);
  }
}
