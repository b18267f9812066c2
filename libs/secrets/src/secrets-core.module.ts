import { Module } from '@nestjs/common';
import type { SecretsModuleOptions } from './interfaces/secrets-module-options.interface.js';
import { SECRETS_RESOLVED_OPTIONS } from './secrets.constants.js';
import { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN } from './secrets.module-definition.js';
import { resolveSecretsOptions } from './secrets.options.js';
import { SecretsService } from './secrets.service.js';

/** Holds the one SecretsService of the application (global by default). */
@Module({
  providers: [
    {
      provide: SECRETS_RESOLVED_OPTIONS,
      useFactory: (options: SecretsModuleOptions) => resolveSecretsOptions(options),
      inject: [MODULE_OPTIONS_TOKEN],
    },
    SecretsService,
  ],
  exports: [SecretsService],
})
export class SecretsCoreModule extends ConfigurableModuleClass {}
