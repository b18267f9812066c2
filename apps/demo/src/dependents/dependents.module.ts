import { Module } from '@nestjs/common';
import { KmsConfigModule } from '@nest-kms/config';
import { ReportingConfig, REPORTING_PREFIXES } from './reporting.config.js';
import { ReportingController } from './reporting.controller.js';
import { ReportingDatabase } from './reporting-database.js';

/**
 * Dependents of rotating secrets: the reporting database, whose pool follows its password
 * secret. Its settings are a second configuration class with its own prefixes.
 */
@Module({
  imports: [
    KmsConfigModule.forFeature({
      schema: ReportingConfig,
      ...REPORTING_PREFIXES,
      actor: 'nest-kms-demo:reporting',
    }),
  ],
  controllers: [ReportingController],
  providers: [ReportingDatabase],
})
export class DependentsModule {}
