import { SecretNotFoundError } from './secret-not-found.error.js';

/** The secret exists but not in the asked version. */
export class SecretVersionNotFoundError extends SecretNotFoundError {
  override readonly code = 'SECRET_VERSION_NOT_FOUND';
  constructor(
    secretName: string,
    readonly version: number,
  ) {
    super(secretName, `no version ${version}`);
  }
}
