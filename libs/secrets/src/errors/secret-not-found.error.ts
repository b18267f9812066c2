import { SecretsError } from './secrets.error.js';
import { SECRETS_MESSAGES } from '../secrets.messages.js';

/** "Secret not found": never stored, destroyed, or (subclasses) expired, deleted, no such version. */
export class SecretNotFoundError extends SecretsError {
  readonly code: string = 'SECRET_NOT_FOUND';
  constructor(
    readonly secretName: string,
    detail = 'no such secret',
  ) {
    super(`${SECRETS_MESSAGES.notFound}: ${secretName} (${detail})`);
  }
}
