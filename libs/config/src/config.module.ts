import { Module, type DynamicModule, type Type } from '@nestjs/common';
import { KmsConfigCoreModule } from './config-core.module.js';
import { ASYNC_OPTIONS_TYPE, OPTIONS_TYPE } from './config.module-definition.js';

/**
 * `KmsConfigModule.forRoot({ schema: AppConfig })` / `forRootAsync({ schema, useFactory })`,
 * beside KmsModule and SecretsModule (in any order): resolves AppConfig's fields while the application
 * starts and provides the object (inject `AppConfig`) and `KmsConfigService`, to every module by
 * default. Reads the environment through @nestjs/config's ConfigService, so it works beside
 * the application's own `ConfigModule.forRoot()` and its `.env` files.
 */
@Module({})
export class KmsConfigModule {
  static forRoot<T extends object>(
    options: typeof OPTIONS_TYPE & { schema: Type<T> },
  ): DynamicModule {
    const core = KmsConfigCoreModule.forRoot(options);
    return { module: KmsConfigModule, imports: [core], exports: [core] };
  }

  static forRootAsync<T extends object>(
    options: typeof ASYNC_OPTIONS_TYPE & { schema: Type<T> },
  ): DynamicModule {
    const core = KmsConfigCoreModule.forRootAsync(options);
    return { module: KmsConfigModule, imports: [core], exports: [core] };
  }
}
