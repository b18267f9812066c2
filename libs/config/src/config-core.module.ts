import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { ConfigLoader } from './config.loader.js';
import { CONFIG_RESOLVED_OPTIONS } from './config.constants.js';
import { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN } from './config.module-definition.js';
import { resolveConfigOptions } from './config.options.js';
import type { NestKmsConfigModuleOptions } from './interfaces/config-module-options.interface.js';

/** Holds the ConfigLoader of the application (global by default). */
@Module({
  imports: [ConfigModule],
  providers: [
    {
      provide: CONFIG_RESOLVED_OPTIONS,
      useFactory: (options: NestKmsConfigModuleOptions) => resolveConfigOptions(options),
      inject: [MODULE_OPTIONS_TOKEN],
    },
    ConfigLoader,
  ],
  exports: [ConfigLoader],
})
export class NestKmsConfigCoreModule extends ConfigurableModuleClass {}
