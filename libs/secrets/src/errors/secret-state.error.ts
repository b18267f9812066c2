import { SecretsError } from './secrets.error.js';

/** The operation does not fit the secret's state (e.g. setting a deleted secret, destroying a live one). */
export class SecretStateError extends SecretsError {
  readonly code = 'SECRET_INVALID_STATE';
  constructor(
    readonly secretName: string,
    problem: string,
  ) {
    super(`Secret ${secretName}: ${problem}`);
  }
}
