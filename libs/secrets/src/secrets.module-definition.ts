import { ConfigurableModuleBuilder, type ModuleMetadata } from '@nestjs/common';
import type { SecretsModuleOptions } from './interfaces/secrets-module-options.interface.js';

/** Options that shape the module itself (read when forRoot/forRootAsync is called). */
export interface SecretsModuleExtras {
  /**
   * Provide SecretsService (and `SecretsModule.forFeature` handles) to every module.
   * @default true
   */
  isGlobal?: boolean;
  /**
   * Modules whose providers SecretsModule needs: the KmsModule registered with
   * `isGlobal: false` (the same `KmsModule.forRoot(...)` value the application imports). A global
   * KmsModule needs no entry. In forRootAsync, also what the factory injects.
   * @default []
   */
  imports?: ModuleMetadata['imports'];
}

export const { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN, OPTIONS_TYPE, ASYNC_OPTIONS_TYPE } =
  new ConfigurableModuleBuilder<SecretsModuleOptions>({ moduleName: 'Secrets' })
    .setClassMethodName('forRoot')
    .setFactoryMethodName('createSecretsOptions')
    .setExtras<SecretsModuleExtras>({ isGlobal: true, imports: [] }, (definition, extras) => ({
      ...definition,
      global: extras.isGlobal,
      // forRootAsync has already put its `imports` here.
      imports: [...new Set([...(definition.imports ?? []), ...(extras.imports ?? [])])],
    }))
    .build();
