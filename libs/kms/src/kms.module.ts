import { Module } from '@nestjs/common';
import type { KmsModuleOptions } from './interfaces/kms-module-options.interface.js';
import { KMS_RESOLVED_OPTIONS } from './kms.constants.js';
import { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN } from './kms.module-definition.js';
import { resolveKmsOptions } from './kms.options.js';
import { KmsService } from './kms.service.js';
import { KmsStorage } from './storage/kms-storage.js';

/**
 * `KmsModule.forRoot({...})` / `forRootAsync({ useFactory, inject })`. Global by default, as
 * TypeORM's core module is: one keyring per application, visible to the libraries built on it.
 */
@Module({
  providers: [
    {
      provide: KMS_RESOLVED_OPTIONS,
      useFactory: (options: KmsModuleOptions) => resolveKmsOptions(options, process.env),
      inject: [MODULE_OPTIONS_TOKEN],
    },
    KmsStorage,
    KmsService,
  ],
  exports: [KmsService, KmsStorage],
})
export class KmsModule extends ConfigurableModuleClass {}
