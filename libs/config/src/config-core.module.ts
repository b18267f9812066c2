import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { ConfigurableModuleClass } from './config.module-definition.js';
import { CONFIG_PROVIDERS } from './config.providers.js';

/**
 * Holds the KmsConfigService of one schema and its collaborators. It exports the schema class
 * and the schema's service token; KmsConfigModule.forRoot also exports KmsConfigService.
 */
@Module({
  imports: [ConfigModule],
  providers: CONFIG_PROVIDERS,
})
export class KmsConfigCoreModule extends ConfigurableModuleClass {}
