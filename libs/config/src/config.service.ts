import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { ConfigService } from '@nestjs/config';
import { KmsConfigurationError } from '@nest-kms/kms';
import type { SecretsService } from '@nest-kms/secrets';
import type { Observable } from 'rxjs';
import type { ResolvedConfigOptions } from './config.options.js';
import type { ConfigState } from './config-state.js';
import { ConfigNotLoadedError } from './errors/config-not-loaded.error.js';
import { UnknownConfigKeyError } from './errors/unknown-config-key.error.js';
import type { ConfigFieldChange } from './interfaces/config-change.interface.js';
import type { ConfigStatus } from './interfaces/config-status.interface.js';
import type {
  SecretsImportOptions,
  SecretsImportReport,
} from './interfaces/secrets-import.interface.js';
import type { ConfigLoading } from './lifecycle/config-loading.js';
import { createConfigObject } from './masking/config-object.js';
import { importSecretsFromEnv } from './migration/secrets-import.js';
import { ConfigResolver } from './resolution/config-resolver.js';
import type { SourceReaders } from './resolution/field-resolver.js';
import type { AuthFailureRetry } from './rotation/auth-failure-retry.js';
import type { ConfigRefresh } from './rotation/config-refresh.js';
import type { ConfigPlan, FieldPlan } from './schema/config-plan.js';

/** What KmsConfigService works with; config.providers.ts builds them, one provider each. */
export interface KmsConfigServiceParts {
  readonly schema: new () => object;
  readonly options: ResolvedConfigOptions;
  readonly plan: ConfigPlan;
  readonly state: ConfigState;
  readonly loading: ConfigLoading;
  readonly refresh: ConfigRefresh;
  readonly retry: AuthFailureRetry;
  readonly configService: ConfigService;
  readonly secrets: SecretsService | undefined;
}

/**
 * The typed configuration of one schema class: resolved from the secrets store, the environment
 * (through @nestjs/config's ConfigService) and class defaults while the module initialises (or,
 * with `loadBeforeDependents`, before the providers that inject it are built), validated as a
 * whole, then kept current as bound secrets change.
 */
@Injectable()
export class KmsConfigService<T extends object = Record<string, unknown>>
  implements OnModuleInit, OnModuleDestroy
{
  /** The configuration object (also injectable by the schema class). */
  readonly config: T;
  private readonly schema: new () => T;
  private readonly plans: readonly FieldPlan[];
  private readonly keys = new Map<string, string>();

  constructor(private readonly parts: KmsConfigServiceParts) {
    this.schema = parts.schema as new () => T;
    this.plans = parts.plan.fields;
    // The object users inject: a view of the state, not a collaborator.
    this.config = createConfigObject(this.schema, parts.state);
    for (const field of this.plans) this.keys.set(field.field, field.field);
    for (const key of ['secret', 'env', 'importEnv'] as const) {
      for (const field of this.plans) {
        const name = field[key];
        if (name !== null && !this.keys.has(name)) this.keys.set(name, field.field);
      }
    }
  }

  /** Field changes after a bound secret changed: field, source and key, never the value. */
  get changes(): Observable<ConfigFieldChange> {
    return this.parts.refresh.changes;
  }

  /** Loads the configuration, unless its provider already has (`loadBeforeDependents`). */
  onModuleInit(): Promise<void> {
    return this.parts.loading.load();
  }

  onModuleDestroy(): Promise<void> {
    return this.parts.loading.stop();
  }

  /**
   * A value by field name (`get('jwtSecret')`) or by the name of its source, a secret or an
   * environment variable (`get('JWT_SECRET')`). A field name wins over a source name; a source
   * bound to several fields gives the first declared. Unknown names throw UnknownConfigKeyError.
   */
  get<K extends keyof T & string>(key: K): T[K];
  get<V = unknown>(key: string): V;
  get(key: string): unknown {
    if (!this.parts.state.loaded) throw new ConfigNotLoadedError(this.schema.name);
    const field = this.keys.get(key);
    if (field === undefined) throw new UnknownConfigKeyError(this.schema.name, key);
    return this.parts.state.value(field);
  }

  /** Per field: the source that served it, its key, and its value (masked when sensitive). */
  getStatus(): ConfigStatus {
    return this.parts.state.status();
  }

  /**
   * Runs `use` with the current value of a secret-bound field (by field or secret name, as
   * get()). When `use` fails and `isAuthFailure` says the value was refused as credentials (a
   * database's "password authentication failed", an API's 401), reads the field's secret
   * from the store itself once, updates the field (announced on `changes`, reason
   * `refreshed`) and runs `use` once more with the newer value. Never more than two attempts
   * and one store read per call; calls refused with the same value at once share one read.
   * Other failures are rethrown as they are. Gives up with ConfigCredentialsRejectedError
   * (`CONFIG_CREDENTIALS_REJECTED`) when the store has no newer value or the newer one is
   * refused too.
   */
  withFreshValueOnAuthFailure<K extends keyof T & string, R>(
    key: K,
    use: (value: T[K]) => Promise<R> | R,
    isAuthFailure: (error: unknown) => boolean,
  ): Promise<R>;
  withFreshValueOnAuthFailure<V, R>(
    key: string,
    use: (value: V) => Promise<R> | R,
    isAuthFailure: (error: unknown) => boolean,
  ): Promise<R>;
  async withFreshValueOnAuthFailure<R>(
    key: string,
    use: (value: unknown) => Promise<R> | R,
    isAuthFailure: (error: unknown) => boolean,
  ): Promise<R> {
    if (!this.parts.state.loaded) throw new ConfigNotLoadedError(this.schema.name);
    const field = this.keys.get(key);
    if (field === undefined) throw new UnknownConfigKeyError(this.schema.name, key);
    const plan = this.plans.find((candidate) => candidate.field === field) as FieldPlan;
    if (plan.secret === null) {
      throw new KmsConfigurationError(
        `${this.schema.name}.${field} is not bound to a secret (@FromSecret): there is nothing newer to read`,
      );
    }
    return this.parts.retry.run({ ...plan, secret: plan.secret }, use, isAuthFailure);
  }

  /**
   * Imports environment variables into the secrets store (see importSecretsFromEnv), reading
   * them through ConfigService. `names` are secret names of the schema (read from their
   * `envName`) or any other variable, stored under its own name. Default: every @FromSecret
   * field. A value the schema would refuse is not written (`failed`, code CONFIG_INVALID).
   */
  async importFromEnv(
    names?: readonly string[],
    options: SecretsImportOptions = {},
  ): Promise<SecretsImportReport> {
    const { state, secrets, configService } = this.parts;
    if (!state.loaded) throw new ConfigNotLoadedError(this.schema.name);
    if (!secrets) {
      throw new KmsConfigurationError(
        'importFromEnv needs SecretsModule.forRoot() in the application',
      );
    }
    const bound = this.plans.filter((plan) => plan.secret !== null);
    const wanted = names ?? [...new Set(bound.map((plan) => plan.secret as string))];
    const entries = wanted.map((name) => {
      const plan =
        bound.find((candidate) => candidate.secret === name) ??
        bound.find((candidate) => candidate.importEnv === name);
      return plan
        ? { secret: plan.secret as string, env: plan.importEnv as string }
        : { secret: name, env: name };
    });
    return importSecretsFromEnv(secrets, entries, {
      overwrite: options.overwrite,
      actor: options.actor ?? this.parts.options.actor,
      env: (name) => configService.get(name),
      check: (secret, value) => this.check(secret, value),
    });
  }

  /** Would the schema accept `value` for every field bound to `secret`? */
  private async check(secret: string, value: string): Promise<string | undefined> {
    const { state } = this.parts;
    const current = state.loaded ? state.snapshot() : new Map();
    const readers: SourceReaders = { secret: async () => value, env: () => undefined };
    const probe = new ConfigResolver(this.schema, this.plans, readers);
    for (const plan of this.plans.filter((candidate) => candidate.secret === secret)) {
      const result = await probe.resolveOne(plan, current);
      if (!result.ok) return 'CONFIG_INVALID';
    }
    return undefined;
  }
}
