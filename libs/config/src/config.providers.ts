import type { Provider } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { SecretsService } from '@nest-kms/secrets';
import { ConfigState } from './config-state.js';
import { KmsConfigService } from './config.service.js';
import { CONFIG_PLAN, CONFIG_RESOLVED_OPTIONS, CONFIG_SCHEMA } from './config.constants.js';
import { MODULE_OPTIONS_TOKEN } from './config.module-definition.js';
import { resolveConfigOptions, type ResolvedConfigOptions } from './config.options.js';
import type { KmsConfigModuleOptions } from './interfaces/config-module-options.interface.js';
import { ConfigResolver } from './resolution/config-resolver.js';
import { configSourceReaders } from './resolution/source-readers.js';
import { planConfig, type ConfigPlan } from './schema/config-plan.js';

type Schema = new () => object;

/**
 * What KmsConfigService works with, one provider each, so a test can replace any of them with
 * `overrideProvider`. SecretsService is optional: without it, secret-bound fields are refused
 * at start-up with the fix named.
 */
export const CONFIG_PROVIDERS: Provider[] = [
  {
    provide: CONFIG_RESOLVED_OPTIONS,
    useFactory: (options: KmsConfigModuleOptions) => resolveConfigOptions(options),
    inject: [MODULE_OPTIONS_TOKEN],
  },
  {
    provide: CONFIG_PLAN,
    useFactory: (schema: Schema) => planConfig(schema, new schema()),
    inject: [CONFIG_SCHEMA],
  },
  {
    provide: ConfigState,
    useFactory: (schema: Schema, plan: ConfigPlan) => new ConfigState(schema.name, plan.fields),
    inject: [CONFIG_SCHEMA, CONFIG_PLAN],
  },
  {
    provide: ConfigResolver,
    useFactory: (
      schema: Schema,
      plan: ConfigPlan,
      options: ResolvedConfigOptions,
      configService: ConfigService,
      secrets?: SecretsService,
    ) =>
      new ConfigResolver(
        schema,
        plan.fields,
        configSourceReaders(secrets, configService, options.actor),
      ),
    inject: [
      CONFIG_SCHEMA,
      CONFIG_PLAN,
      CONFIG_RESOLVED_OPTIONS,
      ConfigService,
      { token: SecretsService, optional: true },
    ],
  },
  KmsConfigService,
];
