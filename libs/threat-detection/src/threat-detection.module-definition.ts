import { ConfigurableModuleBuilder, type ModuleMetadata } from '@nestjs/common';
import type { ThreatDetectionModuleOptions } from './interfaces/threat-detection-options.interface.js';

/** Options that shape the module itself. */
export interface ThreatDetectionModuleExtras {
  /**
   * Provide ThreatsService to every module.
   * @default true
   */
  isGlobal?: boolean;
  /** Modules the detector needs that are not global (a KmsModule or SecretsModule registered with `isGlobal: false`). */
  imports?: ModuleMetadata['imports'];
}

export const { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN, OPTIONS_TYPE, ASYNC_OPTIONS_TYPE } =
  new ConfigurableModuleBuilder<ThreatDetectionModuleOptions>({ moduleName: 'ThreatDetection' })
    .setClassMethodName('forRoot')
    .setFactoryMethodName('createThreatDetectionOptions')
    .setExtras<ThreatDetectionModuleExtras>(
      { isGlobal: true, imports: [] },
      (definition, extras) => ({
        ...definition,
        global: extras.isGlobal,
        imports: [...new Set([...(definition.imports ?? []), ...(extras.imports ?? [])])],
      }),
    )
    .build();
