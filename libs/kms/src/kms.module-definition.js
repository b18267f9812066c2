import { ConfigurableModuleBuilder } from '@nestjs/common';
export const { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN, OPTIONS_TYPE, ASYNC_OPTIONS_TYPE } =
  new ConfigurableModuleBuilder({ moduleName: 'Kms' })
    .setClassMethodName('forRoot')
    .setFactoryMethodName('createKmsOptions')
    .setExtras({ isGlobal: false }, (definition, extras) => ({
      ...definition,
      global: extras.isGlobal,
    }))
    .build();
//# sourceMappingURL=kms.module-definition.js.map
