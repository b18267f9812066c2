import {
  Inject,
  Injectable,
  Logger,
  Optional,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { KmsConfigurationError } from '@nest-kms/kms';
import { SecretsService } from '@nest-kms/secrets';
import { Subject, type Observable } from 'rxjs';
import { CONFIG_PLAN, CONFIG_RESOLVED_OPTIONS, CONFIG_SCHEMA } from './config.constants.js';
import { CONFIG_EVENTS } from './config.messages.js';
import type { ResolvedConfigOptions } from './config.options.js';
import { ConfigState } from './config-state.js';
import { ConfigNotLoadedError } from './errors/config-not-loaded.error.js';
import { ConfigValidationError } from './errors/config-validation.error.js';
import { UnknownConfigKeyError } from './errors/unknown-config-key.error.js';
import type { ConfigFieldChange } from './interfaces/config-change.interface.js';
import type { ConfigProblem } from './interfaces/config-problem.interface.js';
import type { ConfigStatus } from './interfaces/config-status.interface.js';
import type {
  SecretsImportOptions,
  SecretsImportReport,
} from './interfaces/secrets-import.interface.js';
import { warnAboutSource } from './lifecycle/source-warnings.js';
import { createConfigObject } from './masking/config-object.js';
import { importSecretsFromEnv } from './migration/secrets-import.js';
import { ConfigResolver } from './resolution/config-resolver.js';
import type { SourceReaders } from './resolution/field-resolver.js';
import { ConfigRotation } from './rotation/config-rotation.js';
import type { ConfigPlan, FieldPlan } from './schema/config-plan.js';

/**
 * The typed configuration of one schema class: resolved from the secrets store, the environment
 * (through @nestjs/config's ConfigService) and class defaults while the module initialises,
 * validated as a whole, then kept current as bound secrets change.
 */
@Injectable()
export class KmsConfigService<T extends object = Record<string, unknown>>
  implements OnModuleInit, OnModuleDestroy
{
  private readonly logger = new Logger(KmsConfigService.name);
  /** The configuration object (also injectable by the schema class). */
  readonly config: T;
  private readonly plans: readonly FieldPlan[];
  private readonly declarationProblems: readonly ConfigProblem[];
  private readonly keys = new Map<string, string>();
  private readonly changeStream = new Subject<ConfigFieldChange>();
  private rotation: ConfigRotation | undefined;

  constructor(
    @Inject(CONFIG_SCHEMA) private readonly schema: new () => T,
    @Inject(CONFIG_RESOLVED_OPTIONS) private readonly options: ResolvedConfigOptions,
    @Inject(CONFIG_PLAN) plan: ConfigPlan,
    private readonly state: ConfigState,
    private readonly resolver: ConfigResolver,
    private readonly configService: ConfigService,
    @Optional() private readonly secrets?: SecretsService,
  ) {
    this.plans = plan.fields;
    this.declarationProblems = plan.problems;
    // The object users inject: a view of the state, not a collaborator.
    this.config = createConfigObject(schema, state);
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
    return this.changeStream.asObservable();
  }

  async onModuleInit(): Promise<void> {
    const started = performance.now();
    // Nest may initialise this module before SecretsModule: wait for it rather than depend on order.
    await this.secrets?.initialize();
    const env = (name: string): unknown => this.configService.get(name);
    if (this.secrets && this.options.watchSecrets) {
      this.rotation = new ConfigRotation(this.state, this.resolver, this.secrets, env, (change) =>
        this.changeStream.next(change),
      );
      this.rotation.start();
    }
    const problems = [...this.declarationProblems];
    if (!this.secrets) {
      problems.push(...this.plans.filter((plan) => plan.secret !== null).map(noSecretsModule));
    }
    const result =
      problems.length > 0 ? { ok: false as const, problems } : await this.resolver.resolveAll([]);
    if (!result.ok) {
      await this.rotation?.stop();
      this.logger.error({
        event: CONFIG_EVENTS.invalid,
        schema: this.schema.name,
        problems: result.problems.map(({ field, kind, source, key, code, constraints }) => ({
          field,
          kind,
          source,
          key,
          code,
          constraints: Object.keys(constraints),
        })),
      });
      throw new ConfigValidationError(this.schema.name, result.problems);
    }
    this.state.load(result.fields, new Date());
    const sources: Record<string, number> = {};
    for (const plan of this.plans) {
      const state = this.state.current(plan.field);
      sources[state.source] = (sources[state.source] ?? 0) + 1;
      warnAboutSource(this.logger, plan, state, env);
    }
    this.logger.log({
      event: CONFIG_EVENTS.loaded,
      schema: this.schema.name,
      fields: this.plans.length,
      sources,
      durationMs: Math.round((performance.now() - started) * 100) / 100,
    });
    this.rotation?.open();
  }

  async onModuleDestroy(): Promise<void> {
    await this.rotation?.stop();
    this.changeStream.complete();
  }

  /**
   * A value by field name (`get('jwtSecret')`) or by the name of its source, a secret or an
   * environment variable (`get('JWT_SECRET')`). A field name wins over a source name; a source
   * bound to several fields gives the first declared. Unknown names throw UnknownConfigKeyError.
   */
  get<K extends keyof T & string>(key: K): T[K];
  get<V = unknown>(key: string): V;
  get(key: string): unknown {
    if (!this.state.loaded) throw new ConfigNotLoadedError(this.schema.name);
    const field = this.keys.get(key);
    if (field === undefined) throw new UnknownConfigKeyError(this.schema.name, key);
    return this.state.value(field);
  }

  /** Per field: the source that served it, its key, and its value (masked when sensitive). */
  getStatus(): ConfigStatus {
    return this.state.status();
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
    if (!this.state.loaded) throw new ConfigNotLoadedError(this.schema.name);
    if (!this.secrets) {
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
    return importSecretsFromEnv(this.secrets, entries, {
      overwrite: options.overwrite,
      actor: options.actor ?? this.options.actor,
      env: (name) => this.configService.get(name),
      check: (secret, value) => this.check(secret, value),
    });
  }

  /** Would the schema accept `value` for every field bound to `secret`? */
  private async check(secret: string, value: string): Promise<string | undefined> {
    const current = this.state.loaded ? this.state.snapshot() : new Map();
    const readers: SourceReaders = { secret: async () => value, env: () => undefined };
    const probe = new ConfigResolver(this.schema, this.plans, readers);
    for (const plan of this.plans.filter((candidate) => candidate.secret === secret)) {
      const result = await probe.resolveOne(plan, current);
      if (!result.ok) return 'CONFIG_INVALID';
    }
    return undefined;
  }
}

function noSecretsModule(plan: FieldPlan): ConfigProblem {
  return {
    field: plan.field,
    kind: 'declaration',
    source: 'secret',
    key: plan.secret,
    constraints: {
      secretsModule:
        'is bound to a secret but KmsConfigModule sees no SecretsService: add SecretsModule.forRoot() to the application, or pass a non-global one in KmsConfigModule.forRoot({ imports })',
    },
  };
}
