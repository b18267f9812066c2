import { ConfigurableModuleBuilder, type Type } from '@nestjs/common';
import type { NestKmsConfigModuleOptions } from './interfaces/config-module-options.interface.js';
import { createSchemaProviders } from './config.providers.js';

/** Options that shape the module itself (read when forRoot/forRootAsync is called). */
export interface NestKmsConfigModuleExtras {
  /** The configuration class: its decorated fields are resolved, and it is the injection token. */
  schema: Type<object>;
  /**
   * Provide the configuration and ConfigLoader to every module.
   * @default true
   */
  isGlobal?: boolean;
}

export const { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN, OPTIONS_TYPE, ASYNC_OPTIONS_TYPE } =
  new ConfigurableModuleBuilder<NestKmsConfigModuleOptions>({ moduleName: 'NestKmsConfig' })
    .setClassMethodName('forRoot')
    .setFactoryMethodName('createConfigOptions')
    .setExtras<NestKmsConfigModuleExtras>(
      { schema: undefined as unknown as Type<object>, isGlobal: true },
      (definition, extras) => {
        const providers = createSchemaProviders(extras.schema);
        return {
          ...definition,
          global: extras.isGlobal,
          providers: [...(definition.providers ?? []), ...providers],
          exports: [...(definition.exports ?? []), extras.schema],
        };
      },
    )
    .build();
