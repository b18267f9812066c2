import { KmsError } from '@nest-kms/kms';

/** A secret name, value or option broke a documented rule; `rule` names it. Never echoes the value. */
export class InvalidSecretInputError extends KmsError {
  readonly code = 'SECRET_INVALID_INPUT';
  constructor(
    readonly field: string,
    readonly rule: string,
  ) {
    super(`Invalid secret ${field}: ${rule}`);
  }
}
