var __decorate =
  (this && this.__decorate) ||
  function (decorators, target, key, desc) {
    var c = arguments.length,
      r =
        c < 3
          ? target
          : desc === null
            ? (desc = Object.getOwnPropertyDescriptor(target, key))
            : desc,
      d;
    if (typeof Reflect === 'object' && typeof Reflect.decorate === 'function')
      r = Reflect.decorate(decorators, target, key, desc);
    else
      for (var i = decorators.length - 1; i >= 0; i--)
        if ((d = decorators[i]))
          r = (c < 3 ? d(r) : c > 3 ? d(target, key, r) : d(target, key)) || r;
    return (c > 3 && r && Object.defineProperty(target, key, r), r);
  };
import { Module } from '@nestjs/common';
import { KMS_RESOLVED_OPTIONS } from './kms.constants.js';
import { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN } from './kms.module-definition.js';
import { resolveKmsOptions } from './kms.options.js';
import { KmsService } from './kms.service.js';
import { KmsStorage } from './storage/kms-storage.js';
let KmsModule = class KmsModule extends ConfigurableModuleClass {};
KmsModule = __decorate(
  [
    Module({
      providers: [
        {
          provide: KMS_RESOLVED_OPTIONS,
          useFactory: (options) => resolveKmsOptions(options, process.env),
          inject: [MODULE_OPTIONS_TOKEN],
        },
        KmsStorage,
        KmsService,
      ],
      exports: [KmsService],
    }),
  ],
  KmsModule,
);
export { KmsModule };
//# sourceMappingURL=kms.module.js.map
