import { Logger } from '@nestjs/common';
import type { SecretChange, SecretsService } from '@nest-kms/secrets';
import type { Subscription } from 'rxjs';
import type { ConfigState } from '../config-state.js';
import { CONFIG_EVENTS } from '../config.messages.js';
import type { ConfigFieldChange } from '../interfaces/config-change.interface.js';
import type { ConfigProblem } from '../interfaces/config-problem.interface.js';
import { warnAboutSource } from '../lifecycle/source-warnings.js';
import type { ConfigResolver } from '../resolution/config-resolver.js';
import type { FieldPlan } from '../schema/config-plan.js';

/**
 * Follows the bound secrets: on every change (rotation, update, creation by an import,
 * deletion) the fields bound to that secret are read again by the start-up precedence and
 * validated beside the other fields. A value that passes replaces the old one and is announced;
 * one that does not is refused (logged, no value) and the old value stays. Re-reads of one
 * field run one at a time, in the order of the changes, so an older read never wins. Following
 * starts before the start-up read, so a change during it is not missed: its re-read waits until
 * the configuration has loaded (and is dropped if it never does).
 */
export class ConfigRotation {
  private readonly logger = new Logger('KmsConfigService');
  private readonly subscriptions: Subscription[] = [];
  private readonly queues = new Map<string, Promise<void>>();
  private openGate!: () => void;
  private readonly gate = new Promise<void>((resolve) => (this.openGate = resolve));

  constructor(
    private readonly state: ConfigState,
    private readonly resolver: ConfigResolver,
    private readonly secrets: SecretsService,
    private readonly env: (name: string) => unknown,
    private readonly announce: (change: ConfigFieldChange) => void,
  ) {}

  start(): void {
    const bySecret = new Map<string, FieldPlan[]>();
    for (const plan of this.state.plans) {
      if (plan.secret !== null)
        bySecret.set(plan.secret, [...(bySecret.get(plan.secret) ?? []), plan]);
    }
    for (const [secret, plans] of bySecret) {
      this.subscriptions.push(
        this.secrets.watch(secret).subscribe((change) => {
          for (const plan of plans) this.enqueue(plan, change);
        }),
      );
    }
  }

  /** The configuration has loaded: re-reads may run. */
  open(): void {
    this.openGate();
  }

  /**
   * Stops following and lets the re-reads under way finish, so a change committed before the
   * application closes is applied (module destruction runs before the store's connection closes).
   */
  async stop(): Promise<void> {
    for (const subscription of this.subscriptions.splice(0)) subscription.unsubscribe();
    this.openGate();
    await Promise.all(this.queues.values());
  }

  private enqueue(plan: FieldPlan, change: SecretChange): void {
    const next = (this.queues.get(plan.field) ?? this.gate).then(() => this.refresh(plan, change));
    this.queues.set(plan.field, next);
    void next.then(() => {
      if (this.queues.get(plan.field) === next) this.queues.delete(plan.field);
    });
  }

  private async refresh(plan: FieldPlan, change: SecretChange): Promise<void> {
    if (!this.state.loaded) return;
    try {
      const result = await this.resolver.resolveOne(plan, this.state.snapshot());
      if (!result.ok) {
        this.reject(plan, change, result.problems);
        return;
      }
      const previous = this.state.current(plan.field);
      const next = result.state;
      if (
        previous.fingerprint === next.fingerprint &&
        previous.source === next.source &&
        previous.key === next.key
      ) {
        return;
      }
      this.state.replace(plan.field, next);
      const event: ConfigFieldChange = {
        field: plan.field,
        secret: change.name,
        reason: change.reason,
        source: next.source,
        previousSource: previous.source,
        key: next.key,
        at: next.updatedAt,
      };
      this.logger.log({ event: CONFIG_EVENTS.fieldChanged, ...event, at: event.at.toISOString() });
      warnAboutSource(this.logger, plan, next, this.env);
      this.announce(event);
    } catch (error) {
      // Never reached by a refused value (that is a result); only by a bug or a driver failure.
      this.reject(plan, change, [], error instanceof Error ? error.name : 'unknown error');
    }
  }

  private reject(
    plan: FieldPlan,
    change: SecretChange,
    problems: readonly ConfigProblem[],
    failure?: string,
  ): void {
    this.logger.error({
      event: CONFIG_EVENTS.fieldRejected,
      field: plan.field,
      secret: change.name,
      reason: change.reason,
      kept: 'the previous value',
      problems: problems.map(({ kind, source, key, constraints, code }) => ({
        kind,
        source,
        key,
        constraints,
        code,
      })),
      failure,
    });
  }
}
