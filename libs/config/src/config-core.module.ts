import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { KmsConfigService } from './config.service.js';
import { CONFIG_RESOLVED_OPTIONS } from './config.constants.js';
import { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN } from './config.module-definition.js';
import { resolveConfigOptions } from './config.options.js';
import type { KmsConfigModuleOptions } from './interfaces/config-module-options.interface.js';

/** Holds the KmsConfigService of the application (global by default). */
@Module({
  imports: [ConfigModule],
  providers: [
    {
      provide: CONFIG_RESOLVED_OPTIONS,
      useFactory: (options: KmsConfigModuleOptions) => resolveConfigOptions(options),
      inject: [MODULE_OPTIONS_TOKEN],
    },
    KmsConfigService,
  ],
  exports: [KmsConfigService],
})
export class KmsConfigCoreModule extends ConfigurableModuleClass {}
