import { KmsConfigModule } from './config.module.js';
import { KmsConfigService } from './config.service.js';
import type {
  KmsConfigModuleOptions,
  KmsConfigOptionsFactory,
} from './interfaces/config-module-options.interface.js';
import type { KmsConfigModuleExtras } from './config.module-definition.js';

/*
 * The names of 0.1, kept for one minor version. Each is the new one itself (the same class,
 * the same injection token), so old and new imports can be mixed while an application moves.
 */

/** @deprecated use KmsConfigModule */
export const NestKmsConfigModule: typeof KmsConfigModule = KmsConfigModule;
/** @deprecated use KmsConfigModule */
export type NestKmsConfigModule = KmsConfigModule;

/** @deprecated use KmsConfigService (`load` means something else in @nestjs/config) */
export const ConfigLoader: typeof KmsConfigService = KmsConfigService;
/** @deprecated use KmsConfigService (`load` means something else in @nestjs/config) */
export type ConfigLoader<T extends object = Record<string, unknown>> = KmsConfigService<T>;

/** @deprecated use KmsConfigModuleOptions */
export type NestKmsConfigModuleOptions = KmsConfigModuleOptions;
/** @deprecated use KmsConfigOptionsFactory */
export type NestKmsConfigOptionsFactory = KmsConfigOptionsFactory;
/** @deprecated use KmsConfigModuleExtras */
export type NestKmsConfigModuleExtras = KmsConfigModuleExtras;
