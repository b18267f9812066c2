import { ConfigError } from './config.error.js';

/**
 * A field was read, or KmsConfigService used, before KmsConfigModule loaded the configuration.
 * Loading happens during module initialisation (`await app.init()` or `app.listen()`), so use it
 * in onModuleInit or later, not in a constructor or a provider factory.
 */
export class ConfigNotLoadedError extends ConfigError {
  readonly code = 'CONFIG_NOT_LOADED';
  constructor(
    readonly schema: string,
    /** The field read; null when another KmsConfigService operation was called. */
    readonly field: string | null = null,
  ) {
    super(
      `${field === null ? `KmsConfigService of ${schema} was used` : `${schema}.${field} was read`} before the configuration was loaded; await app.init() (or app.listen()) first and use it in onModuleInit() or later, not in a constructor or provider factory`,
    );
  }
}
