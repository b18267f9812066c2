import type { Provider } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { SecretsService } from '@nest-kms/secrets';
import { ConfigState } from './config-state.js';
import { KmsConfigService } from './config.service.js';
import {
  CONFIG_FRESH_RESOLVER,
  CONFIG_SERVICE,
  CONFIG_PLAN,
  CONFIG_RESOLVED_OPTIONS,
  CONFIG_SCHEMA,
} from './config.constants.js';
import { MODULE_OPTIONS_TOKEN } from './config.module-definition.js';
import { resolveConfigOptions, type ResolvedConfigOptions } from './config.options.js';
import type { KmsConfigModuleOptions } from './interfaces/config-module-options.interface.js';
import { ConfigLoading } from './lifecycle/config-loading.js';
import { ConfigResolver } from './resolution/config-resolver.js';
import { configSourceReaders } from './resolution/source-readers.js';
import { AuthFailureRetry } from './rotation/auth-failure-retry.js';
import { ConfigRefresh } from './rotation/config-refresh.js';
import { planConfig, type ConfigPlan } from './schema/config-plan.js';

type Schema = new () => object;

const OPTIONAL_SECRETS = { token: SecretsService, optional: true } as const;

/** The resolver of start-up and rotation (cached reads), or of a refresh after a refusal (`fresh`). */
function resolverProvider(token: unknown, fresh: boolean): Provider {
  return {
    provide: token as symbol,
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
        configSourceReaders(secrets, configService, options.actor, { fresh }),
      ),
    inject: [CONFIG_SCHEMA, CONFIG_PLAN, CONFIG_RESOLVED_OPTIONS, ConfigService, OPTIONAL_SECRETS],
  };
}

/**
 * What KmsConfigService works with, one provider each, so a test can replace any of them with
 * `overrideProvider`. SecretsService is optional: without it, secret-bound fields are refused
 * at start-up with the fix named. KmsConfigService itself comes from an async factory: with
 * `loadBeforeDependents` it resolves only once the configuration has loaded, so Nest builds
 * every provider that injects it (or the schema class) after that.
 */
export const CONFIG_PROVIDERS: Provider[] = [
  {
    provide: CONFIG_RESOLVED_OPTIONS,
    useFactory: (options: KmsConfigModuleOptions) => resolveConfigOptions(options),
    inject: [MODULE_OPTIONS_TOKEN],
  },
  {
    provide: CONFIG_PLAN,
    useFactory: (schema: Schema, options: ResolvedConfigOptions) =>
      planConfig(schema, new schema(), { env: options.envPrefix, secret: options.secretPrefix }),
    inject: [CONFIG_SCHEMA, CONFIG_RESOLVED_OPTIONS],
  },
  {
    provide: ConfigState,
    useFactory: (schema: Schema, plan: ConfigPlan) => new ConfigState(schema.name, plan.fields),
    inject: [CONFIG_SCHEMA, CONFIG_PLAN],
  },
  resolverProvider(ConfigResolver, false),
  resolverProvider(CONFIG_FRESH_RESOLVER, true),
  {
    provide: ConfigRefresh,
    useFactory: (state: ConfigState, configService: ConfigService) =>
      new ConfigRefresh(state, (name) => configService.get(name)),
    inject: [ConfigState, ConfigService],
  },
  {
    provide: AuthFailureRetry,
    useFactory: (
      schema: Schema,
      state: ConfigState,
      refresh: ConfigRefresh,
      fresh: ConfigResolver,
    ) => new AuthFailureRetry(schema.name, state, refresh, fresh),
    inject: [CONFIG_SCHEMA, ConfigState, ConfigRefresh, CONFIG_FRESH_RESOLVER],
  },
  {
    provide: ConfigLoading,
    useFactory: (
      schema: Schema,
      options: ResolvedConfigOptions,
      plan: ConfigPlan,
      state: ConfigState,
      resolver: ConfigResolver,
      refresh: ConfigRefresh,
      configService: ConfigService,
      secrets?: SecretsService,
    ) =>
      new ConfigLoading(
        schema.name,
        options,
        plan,
        state,
        resolver,
        refresh,
        (name) => configService.get(name),
        secrets,
      ),
    inject: [
      CONFIG_SCHEMA,
      CONFIG_RESOLVED_OPTIONS,
      CONFIG_PLAN,
      ConfigState,
      ConfigResolver,
      ConfigRefresh,
      ConfigService,
      OPTIONAL_SECRETS,
    ],
  },
  {
    provide: CONFIG_SERVICE,
    useFactory: async (
      schema: Schema,
      options: ResolvedConfigOptions,
      plan: ConfigPlan,
      state: ConfigState,
      loading: ConfigLoading,
      refresh: ConfigRefresh,
      retry: AuthFailureRetry,
      configService: ConfigService,
      secrets?: SecretsService,
    ) => {
      const service = new KmsConfigService({
        schema,
        options,
        plan,
        state,
        loading,
        refresh,
        retry,
        configService,
        secrets,
      });
      if (options.loadBeforeDependents) await loading.load();
      return service;
    },
    inject: [
      CONFIG_SCHEMA,
      CONFIG_RESOLVED_OPTIONS,
      CONFIG_PLAN,
      ConfigState,
      ConfigLoading,
      ConfigRefresh,
      AuthFailureRetry,
      ConfigService,
      OPTIONAL_SECRETS,
    ],
  },
];
