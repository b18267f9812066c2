import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { KmsConfigService } from './config.service.js';
import { ConfigurableModuleClass } from './config.module-definition.js';
import { CONFIG_PROVIDERS } from './config.providers.js';

/** Holds the KmsConfigService of the application and its collaborators (global by default). */
@Module({
  imports: [ConfigModule],
  providers: CONFIG_PROVIDERS,
  exports: [KmsConfigService],
})
export class KmsConfigCoreModule extends ConfigurableModuleClass {}
