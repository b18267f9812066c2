import { SecretsError } from './secrets.error.js';

/** A secret name, value or option broke a documented rule; `rule` names it. Never echoes the value. */
export class InvalidSecretInputError extends SecretsError {
  readonly code = 'SECRET_INVALID_INPUT';
  constructor(
    readonly field: string,
    readonly rule: string,
  ) {
    super(`Invalid secret ${field}: ${rule}`);
  }
}
