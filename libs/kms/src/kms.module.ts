import { Module } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import type { KmsModuleOptions } from './interfaces/kms-module-options.interface.js';
import { KMS_RESOLVED_OPTIONS, KMS_SCHEDULER_REGISTRY } from './kms.constants.js';
import { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN } from './kms.module-definition.js';
import { resolveKmsOptions } from './kms.options.js';
import { KmsService } from './kms.service.js';
import { KmsMetrics } from './metrics/kms-metrics.js';
import { KmsNotifications } from './notifications/kms-notifications.js';
import { KmsStorage } from './storage/kms-storage.js';
import { KmsDatabase } from './storage/kms-database.js';
import { KmsHealthIndicator } from './health/kms-health.indicator.js';
import { SealedExports } from './keyring/sealed-exports.js';

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
    {
      provide: KMS_SCHEDULER_REGISTRY,
      useFactory: (registry: SchedulerRegistry | undefined) => registry ?? new SchedulerRegistry(),
      inject: [{ token: SchedulerRegistry, optional: true }],
    },
    KmsStorage,
    KmsNotifications,
    KmsMetrics,
    KmsService,
    KmsDatabase,
    KmsHealthIndicator,
    SealedExports,
  ],
  exports: [
    KmsService,
    KmsDatabase,
    KmsHealthIndicator,
    KmsStorage,
    KmsNotifications,
    KmsMetrics,
    KMS_SCHEDULER_REGISTRY,
    SealedExports,
  ],
})
export class KmsModule extends ConfigurableModuleClass {}
