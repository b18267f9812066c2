import { SecretNotFoundError } from './secret-not-found.error.js';

/** The secret's current version passed its expiry (createdAt + ttlDays). */
export class SecretExpiredError extends SecretNotFoundError {
  override readonly code = 'SECRET_EXPIRED';
  constructor(
    secretName: string,
    readonly expiredAt: Date,
  ) {
    super(
      secretName,
      `expired at ${expiredAt.toISOString()}; store a new value with setSecret or rotateSecret`,
    );
  }
}
