import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { KmsModuleOptions } from './interfaces/kms-module-options.interface.js';

export const { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN, OPTIONS_TYPE, ASYNC_OPTIONS_TYPE } =
  new ConfigurableModuleBuilder<KmsModuleOptions>({ moduleName: 'Kms' })
    .setClassMethodName('forRoot')
    .setFactoryMethodName('createKmsOptions')
    .setExtras({ isGlobal: true }, (definition, extras) => ({
      ...definition,
      global: extras.isGlobal,
    }))
    .build();
