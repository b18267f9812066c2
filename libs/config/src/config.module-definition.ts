import { ConfigurableModuleBuilder, type ModuleMetadata, type Type } from '@nestjs/common';
import type { KmsConfigModuleOptions } from './interfaces/config-module-options.interface.js';
import { createSchemaProviders } from './config.providers.js';

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
          exports: [...(definition.exports ?? []), extras.schema],
        };
      },
    )
    .build();
