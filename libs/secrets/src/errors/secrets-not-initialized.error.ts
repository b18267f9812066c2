import { SecretsError } from './secrets.error.js';

/**
 * A SecretsService operation ran before `initialize()` finished. SecretsModule calls it while the
 * application starts, so this means the service was used from a constructor, a provider factory
 * or before `await app.init()` (or `app.listen()`).
 */
export class SecretsNotInitializedError extends SecretsError {
  readonly code = 'SECRETS_NOT_INITIALIZED';
  constructor() {
    super(
      'Secrets not initialized: await SecretsService.initialize() before using it (SecretsModule does it during application start-up: await app.init() or app.listen() first, and read secrets in onModuleInit() or later, not in a constructor)',
    );
  }
}
