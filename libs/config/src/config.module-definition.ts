import {
  ConfigurableModuleBuilder,
  type ModuleMetadata,
  type Provider,
  type Type,
} from '@nestjs/common';
import { KmsConfigurationError } from '@nest-kms/kms';
import { CONFIG_SCHEMA, CONFIG_SERVICE } from './config.constants.js';
import type { KmsConfigService } from './config.service.js';
import { getConfigServiceToken } from './config.utils.js';
import type { KmsConfigModuleOptions } from './interfaces/config-module-options.interface.js';

/** Options that shape the module itself (read when forRoot/forRootAsync is called). */
export interface KmsConfigModuleExtras {
  /** The configuration class: its decorated fields are resolved, and it is the injection token. */
  schema: Type<object>;
  /**
   * Provide the configuration and KmsConfigService to every module.
   * @default true
   */
  isGlobal?: boolean;
  /**
   * Modules whose providers the module needs: the SecretsModule registered with
   * `isGlobal: false` (the same `SecretsModule.forRoot(...)` value the application imports). A
   * global SecretsModule needs no entry. In forRootAsync, also what the factory injects.
   * @default []
   */
  imports?: ModuleMetadata['imports'];
}

export const { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN, OPTIONS_TYPE, ASYNC_OPTIONS_TYPE } =
  new ConfigurableModuleBuilder<KmsConfigModuleOptions>({ moduleName: 'KmsConfig' })
    .setClassMethodName('forRoot')
    .setFactoryMethodName('createConfigOptions')
    .setExtras<KmsConfigModuleExtras>(
      { schema: undefined as unknown as Type<object>, isGlobal: true, imports: [] },
      (definition, extras) => {
        const providers = createSchemaProviders(extras.schema);
        return {
          ...definition,
          global: extras.isGlobal,
          // forRootAsync has already put its `imports` here.
          imports: [...new Set([...(definition.imports ?? []), ...(extras.imports ?? [])])],
          providers: [...(definition.providers ?? []), ...providers],
          exports: [
            ...(definition.exports ?? []),
            extras.schema,
            getConfigServiceToken(extras.schema),
          ],
        };
      },
    )
    .build();

/**
 * The schema (for KmsConfigService), the configuration object injectable by its class, and
 * the schema's KmsConfigService token. Both wait for KmsConfigService's factory, which waits
 * for the configuration to load when `loadBeforeDependents` is set.
 */
function createSchemaProviders(schema: Type<object> | undefined): Provider[] {
  if (typeof schema !== 'function') {
    throw new KmsConfigurationError(
      'KmsConfigModule needs { schema }: the configuration class whose fields it resolves',
    );
  }
  return [
    { provide: CONFIG_SCHEMA, useValue: schema },
    {
      provide: schema,
      useFactory: (loader: KmsConfigService) => loader.config,
      inject: [CONFIG_SERVICE],
    },
    { provide: getConfigServiceToken(schema), useExisting: CONFIG_SERVICE },
  ];
}
