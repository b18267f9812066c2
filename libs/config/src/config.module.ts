import { Module, type DynamicModule, type Type } from '@nestjs/common';
import { KmsConfigCoreModule } from './config-core.module.js';
import { ASYNC_OPTIONS_TYPE, OPTIONS_TYPE } from './config.module-definition.js';
import { CONFIG_SERVICE } from './config.constants.js';
import { KmsConfigService } from './config.service.js';

/**
 * `KmsConfigModule.forRoot({ schema: AppConfig })` / `forRootAsync({ schema, useFactory })`,
 * beside KmsModule and SecretsModule (in any order): resolves AppConfig's fields while the application
 * starts and provides the object (inject `AppConfig`) and `KmsConfigService`, to every module by
 * default. Reads the environment through @nestjs/config's ConfigService, so it works beside
 * the application's own `ConfigModule.forRoot()` and its `.env` files. Further schemas, each
 * with its own name prefixes, come from `forFeature` / `forFeatureAsync`.
 */
@Module({})
export class KmsConfigModule {
  static forRoot<T extends object>(
    options: typeof OPTIONS_TYPE & { schema: Type<T> },
  ): DynamicModule {
    return wrap(withService(KmsConfigCoreModule.forRoot(options)));
  }

  static forRootAsync<T extends object>(
    options: typeof ASYNC_OPTIONS_TYPE & { schema: Type<T> },
  ): DynamicModule {
    return wrap(withService(KmsConfigCoreModule.forRootAsync(options)));
  }

  /**
   * One more configuration class (`{ schema, envPrefix, secretPrefix }`), beside the forRoot
   * one: its object is injectable by its class and its KmsConfigService with
   * `@InjectConfigService(schema)`. Provided to the importing module unless `isGlobal: true`.
   */
  static forFeature<T extends object>(
    options: typeof OPTIONS_TYPE & { schema: Type<T> },
  ): DynamicModule {
    return wrap(KmsConfigCoreModule.forRoot({ ...options, isGlobal: options.isGlobal ?? false }));
  }

  /** forFeature with options from a factory, a class or an existing provider, as forRootAsync. */
  static forFeatureAsync<T extends object>(
    options: typeof ASYNC_OPTIONS_TYPE & { schema: Type<T> },
  ): DynamicModule {
    return wrap(
      KmsConfigCoreModule.forRootAsync({ ...options, isGlobal: options.isGlobal ?? false }),
    );
  }
}

/** The application's registration also answers to plain `KmsConfigService`. */
function withService(core: DynamicModule): DynamicModule {
  return {
    ...core,
    providers: [
      ...(core.providers ?? []),
      { provide: KmsConfigService, useExisting: CONFIG_SERVICE },
    ],
    exports: [...(core.exports ?? []), KmsConfigService],
  };
}

function wrap(core: DynamicModule): DynamicModule {
  return { module: KmsConfigModule, imports: [core], exports: [core] };
}
