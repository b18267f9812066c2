import { ConfigError } from './config.error.js';

/**
 * A field was read, or KmsConfigService used, before KmsConfigModule loaded the configuration.
 * Loading happens during module initialisation (`await app.init()` or `app.listen()`), unless
 * the registration sets `loadBeforeDependents`: then it happens before the providers that
 * inject the schema class or its KmsConfigService are built. A provider the configuration
 * itself needs (KmsModule's and SecretsModule's options, the store's database) cannot read it.
 */
export class ConfigNotLoadedError extends ConfigError {
  readonly code = 'CONFIG_NOT_LOADED';
  constructor(
    readonly schema: string,
    /** The field read; null when another KmsConfigService operation was called. */
    readonly field: string | null = null,
  ) {
    super(
      `${field === null ? `KmsConfigService of ${schema} was used` : `${schema}.${field} was read`} before the configuration was loaded; await app.init() (or app.listen()) first and use it in onModuleInit() or later, or register the schema with { loadBeforeDependents: true } and inject it into the constructor or provider factory that reads it`,
    );
  }
}
