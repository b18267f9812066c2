import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { SecretsModuleOptions } from './interfaces/secrets-module-options.interface.js';

export const { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN, OPTIONS_TYPE, ASYNC_OPTIONS_TYPE } =
  new ConfigurableModuleBuilder<SecretsModuleOptions>({ moduleName: 'Secrets' })
    .setClassMethodName('forRoot')
    .setFactoryMethodName('createSecretsOptions')
    .setExtras({ isGlobal: true }, (definition, extras) => ({
      ...definition,
      global: extras.isGlobal,
    }))
    .build();
