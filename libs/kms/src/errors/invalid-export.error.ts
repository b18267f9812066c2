import { KmsError } from './kms.error.js';

/** A sealed export (e.g. a secrets backup) is malformed, altered, or was made under another master key. */
export class InvalidExportError extends KmsError {
  readonly code = 'KMS_INVALID_EXPORT';
  constructor(readonly problem: string) {
    super(`Invalid export: ${problem}; nothing was written`);
  }
}
