import { Module, type DynamicModule, type Type } from '@nestjs/common';
import { NestKmsConfigCoreModule } from './config-core.module.js';
import { ASYNC_OPTIONS_TYPE, OPTIONS_TYPE } from './config.module-definition.js';

/**
 * `NestKmsConfigModule.forRoot({ schema: AppConfig })` / `forRootAsync({ schema, useFactory })`,
 * beside KmsModule and SecretsModule (in any order): resolves AppConfig's fields while the application
 * starts and provides the object (inject `AppConfig`) and `ConfigLoader`, to every module by
 * default. Reads the environment through @nestjs/config's ConfigService, so it works beside
 * the application's own `ConfigModule.forRoot()` and its `.env` files.
 */
@Module({})
export class NestKmsConfigModule {
  static forRoot<T extends object>(
    options: typeof OPTIONS_TYPE & { schema: Type<T> },
  ): DynamicModule {
    const core = NestKmsConfigCoreModule.forRoot(options);
    return { module: NestKmsConfigModule, imports: [core], exports: [core] };
  }

  static forRootAsync<T extends object>(
    options: typeof ASYNC_OPTIONS_TYPE & { schema: Type<T> },
  ): DynamicModule {
    const core = NestKmsConfigCoreModule.forRootAsync(options);
    return { module: NestKmsConfigModule, imports: [core], exports: [core] };
  }
}
