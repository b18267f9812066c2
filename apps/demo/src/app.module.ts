import { type DynamicModule, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { APP_FILTER } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { TypeOrmModule } from '@nestjs/typeorm';
import { KmsModule } from '@nest-kms/kms';
import { SecretsModule } from '@nest-kms/secrets';
import { KmsConfigModule } from '@nest-kms/config';
import { AdminTokenGuard } from './auth/admin-token.guard.js';
import { AdminTokenSetup } from './auth/admin-token.setup.js';
import { CallerAuthModule } from './auth/caller-auth.module.js';
import { CallersController } from './auth/callers.controller.js';
import { demoDataSourceOptions } from './database.js';
import { DemoConfig } from './demo.config.js';
import { DependentsModule } from './dependents/dependents.module.js';
import {
  DEMO_ENVIRONMENT,
  demoRegion,
  developmentMasterKeyFile,
  type DemoEnvironment,
} from './demo-environment.js';
import { KmsErrorFilter } from './http/kms-error.filter.js';
import { KmsController } from './kms/kms.controller.js';
import { NotesModule } from './notes/notes.module.js';
import { DemoMetrics } from './operations/demo-metrics.js';
import { HealthCheckLog } from './operations/health-check.log.js';
import { HealthController } from './operations/health.controller.js';
import { MetricsController } from './operations/metrics.controller.js';
import { StatusController } from './operations/status.controller.js';
import { SecretsController } from './secrets/secrets.controller.js';
import { DemoThreatsModule } from './threats/demo-threats.module.js';

/**
 * nest-kms wired as the README tells users to: the application's TypeORM DataSource holds the
 * KMS, secrets and notes tables; KmsModule uses it; SecretsModule sits beside it; DemoConfig is
 * resolved by KmsConfigModule from secrets and the environment. With no environment at all
 * it runs on SQLite under ./data with a development master key in ./data/dev-master.key
 * (never in production: there KMS_MASTER_KEY is required).
 */
@Module({})
export class AppModule {
  static forRoot(env: DemoEnvironment = process.env): DynamicModule {
    return {
      module: AppModule,
      imports: [
        // The environment is handed in (process.env in main.ts), not read behind the app's back.
        ConfigModule.forRoot({
          isGlobal: true,
          ignoreEnvFile: true,
          skipProcessEnv: true,
          load: [() => ({ ...env })],
        }),
        TypeOrmModule.forRootAsync({ useFactory: () => demoDataSourceOptions(env) }),
        KmsModule.forRoot({
          dataSource: 'default',
          masterKey: env.KMS_MASTER_KEY || undefined,
          previousMasterKey: env.KMS_MASTER_KEY_PREVIOUS || undefined,
          developmentMasterKeyFile: developmentMasterKeyFile(env),
          region: demoRegion(env),
        }),
        SecretsModule.forRoot(),
        KmsConfigModule.forRoot({ schema: DemoConfig, actor: 'nest-kms-demo:config' }),
        // HealthCheckLog logs failed checks, summarised, instead of a line per probe.
        TerminusModule.forRoot({ errorLogStyle: 'json', logger: false }),
        CallerAuthModule,
        NotesModule,
        DependentsModule,
        DemoThreatsModule.forRoot(env),
      ],
      controllers: [
        KmsController,
        CallersController,
        SecretsController,
        StatusController,
        HealthController,
        MetricsController,
      ],
      providers: [
        { provide: DEMO_ENVIRONMENT, useValue: env },
        { provide: APP_FILTER, useClass: KmsErrorFilter },
        AdminTokenGuard,
        AdminTokenSetup,
        DemoMetrics,
        HealthCheckLog,
      ],
    };
  }
}
