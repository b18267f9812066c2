export { KmsConfigModule } from './config.module.js';
export type { KmsConfigModuleExtras } from './config.module-definition.js';
export { KmsConfigService } from './config.service.js';
export { FromEnv, FromSecret, InjectConfigService, Sensitive } from './config.decorators.js';
export { getConfigServiceToken } from './config.utils.js';
export { importSecretsFromEnv, type ImportSources } from './migration/secrets-import.js';
export { CONFIG_EVENTS, MASK } from './config.messages.js';
export type {
  KmsConfigModuleOptions,
  KmsConfigOptionsFactory,
} from './interfaces/config-module-options.interface.js';
export type {
  ConfigValueType,
  FromEnvOptions,
  FromSecretOptions,
} from './interfaces/config-field-options.interface.js';
export type {
  ConfigFieldStatus,
  ConfigSource,
  ConfigStatus,
} from './interfaces/config-status.interface.js';
export type {
  ConfigChangeReason,
  ConfigFieldChange,
} from './interfaces/config-change.interface.js';
export type { ConfigProblem, ConfigProblemKind } from './interfaces/config-problem.interface.js';
export type {
  SecretImportEntry,
  SecretsImportOptions,
  SecretsImportReport,
} from './interfaces/secrets-import.interface.js';
export { ConfigError } from './errors/config.error.js';
export { ConfigValidationError } from './errors/config-validation.error.js';
export { ConfigNotLoadedError } from './errors/config-not-loaded.error.js';
export { UnknownConfigKeyError } from './errors/unknown-config-key.error.js';
export {
  ConfigCredentialsRejectedError,
  type CredentialsRejectedReason,
} from './errors/config-credentials-rejected.error.js';
export {
  ConfigLoader,
  NestKmsConfigModule,
  type NestKmsConfigModuleExtras,
  type NestKmsConfigModuleOptions,
  type NestKmsConfigOptionsFactory,
} from './config.deprecated.js';
