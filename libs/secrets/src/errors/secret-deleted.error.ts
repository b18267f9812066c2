import { SecretNotFoundError } from './secret-not-found.error.js';

/** The secret is soft-deleted: recoverSecret() brings it back until its recovery window ends. */
export class SecretDeletedError extends SecretNotFoundError {
  override readonly code = 'SECRET_DELETED';
  constructor(
    secretName: string,
    readonly recoverableUntil: Date | null,
  ) {
    super(
      secretName,
      `deleted; recoverSecret() can restore it${recoverableUntil ? ` until ${recoverableUntil.toISOString()}` : ''}`,
    );
  }
}
