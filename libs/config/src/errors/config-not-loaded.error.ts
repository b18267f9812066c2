import { KmsError } from '@nest-kms/kms';

/**
 * A field was read before NestKmsConfigModule loaded the configuration. Loading happens during
 * module initialisation, so read it in onModuleInit or later, not in a
 * constructor or a provider factory.
 */
export class ConfigNotLoadedError extends KmsError {
  readonly code = 'CONFIG_NOT_LOADED';
  constructor(
    readonly schema: string,
    readonly field: string,
  ) {
    super(
      `${schema}.${field} was read before the configuration was loaded; read it in onModuleInit() or later, not in a constructor or provider factory`,
    );
  }
}
