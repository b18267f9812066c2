import { Logger } from '@nestjs/common';
import type { SecretsService } from '@nest-kms/secrets';
import type { ConfigState } from '../config-state.js';
import { CONFIG_EVENTS } from '../config.messages.js';
import type { ResolvedConfigOptions } from '../config.options.js';
import { ConfigValidationError } from '../errors/config-validation.error.js';
import type { ConfigProblem } from '../interfaces/config-problem.interface.js';
import type { ConfigResolver } from '../resolution/config-resolver.js';
import type { ConfigRefresh } from '../rotation/config-refresh.js';
import { ConfigRotation } from '../rotation/config-rotation.js';
import type { ConfigPlan, FieldPlan } from '../schema/config-plan.js';
import { warnAboutSource } from './source-warnings.js';

/**
 * Loads the configuration once: starts the secrets store (and the KMS under it, both
 * idempotent, so whichever of the config provider's factory, this module's onModuleInit and the
 * store's own runs first starts them and the others wait for it), follows the bound secrets,
 * resolves and validates every field, and logs where each came from.
 */
export class ConfigLoading {
  private readonly logger = new Logger('KmsConfigService');
  private loading: Promise<void> | undefined;
  private rotation: ConfigRotation | undefined;

  constructor(
    private readonly schema: string,
    private readonly options: ResolvedConfigOptions,
    private readonly plan: ConfigPlan,
    private readonly state: ConfigState,
    private readonly resolver: ConfigResolver,
    private readonly refresh: ConfigRefresh,
    private readonly env: (name: string) => unknown,
    private readonly secrets: SecretsService | undefined,
  ) {}

  /** Idempotent; concurrent calls share one load, a refused one may be tried again. */
  load(): Promise<void> {
    this.loading ??= this.run().catch((error: unknown) => {
      this.loading = undefined;
      throw error;
    });
    return this.loading;
  }

  /** Stops following the secrets once the re-reads under way are applied. */
  async stop(): Promise<void> {
    await this.rotation?.stop();
    await this.refresh.drain();
    this.refresh.complete();
  }

  private async run(): Promise<void> {
    const started = performance.now();
    // Nest may initialise this module before SecretsModule: wait for it rather than depend on order.
    await this.secrets?.initialize();
    if (this.secrets && this.options.watchSecrets && !this.rotation) {
      this.rotation = new ConfigRotation(this.state, this.refresh, this.resolver, this.secrets);
      this.rotation.start();
    }
    const problems = [...this.plan.problems];
    if (!this.secrets) {
      problems.push(
        ...this.plan.fields.filter((field) => field.secret !== null).map(noSecretsModule),
      );
    }
    const result =
      problems.length > 0 ? { ok: false as const, problems } : await this.resolver.resolveAll([]);
    if (!result.ok) {
      await this.rotation?.stop();
      this.rotation = undefined;
      this.logger.error({
        event: CONFIG_EVENTS.invalid,
        schema: this.schema,
        problems: result.problems.map(({ field, kind, source, key, code, constraints }) => ({
          field,
          kind,
          source,
          key,
          code,
          constraints: Object.keys(constraints),
        })),
      });
      throw new ConfigValidationError(this.schema, result.problems);
    }
    this.state.load(result.fields, new Date());
    const sources: Record<string, number> = {};
    for (const field of this.plan.fields) {
      const state = this.state.current(field.field);
      sources[state.source] = (sources[state.source] ?? 0) + 1;
      warnAboutSource(this.logger, field, state, this.env);
    }
    this.logger.log({
      event: CONFIG_EVENTS.loaded,
      schema: this.schema,
      fields: this.plan.fields.length,
      sources,
      durationMs: Math.round((performance.now() - started) * 100) / 100,
    });
    this.refresh.open();
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
