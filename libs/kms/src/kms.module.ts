import { Module } from '@nestjs/common';
import { ConfigurableModuleClass } from './kms.module-definition.js';
import { KMS_EXPORTS, KMS_PROVIDERS } from './kms.providers.js';

/**
 * `KmsModule.forRoot({...})` / `forRootAsync({ useFactory, inject })`. Global by default, as
 * TypeORM's core module is: one keyring per application, visible to the libraries built on it.
 */
@Module({ providers: KMS_PROVIDERS, exports: KMS_EXPORTS })
export class KmsModule extends ConfigurableModuleClass {}
