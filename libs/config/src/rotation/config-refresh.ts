import { Logger } from '@nestjs/common';
import { Subject, type Observable } from 'rxjs';
import type { ConfigState, FieldState } from '../config-state.js';
import { CONFIG_EVENTS } from '../config.messages.js';
import type {
  ConfigChangeReason,
  ConfigFieldChange,
} from '../interfaces/config-change.interface.js';
import type { ConfigProblem } from '../interfaces/config-problem.interface.js';
import { warnAboutSource } from '../lifecycle/source-warnings.js';
import type { ConfigResolver } from '../resolution/config-resolver.js';
import type { FieldPlan } from '../schema/config-plan.js';

/** What made a field be read again. */
export interface RefreshTrigger {
  readonly secret: string;
  readonly reason: ConfigChangeReason;
}

/** How a re-read ended: a new value taken, the same value found, or the candidate refused. */
export type RefreshOutcome = 'changed' | 'unchanged' | 'refused';

/**
 * Reads one field again by the start-up precedence and validates it beside the other fields. A
 * value that passes replaces the old one and is announced; one that does not is refused
 * (logged, no value) and the old value stays. Re-reads of one field run one at a time, in the
 * order they were asked for, so an older read never wins; none runs before the configuration
 * has loaded (open()).
 */
export class ConfigRefresh {
  private readonly logger = new Logger('KmsConfigService');
  private readonly queues = new Map<string, Promise<RefreshOutcome>>();
  private readonly stream = new Subject<ConfigFieldChange>();
  private openGate!: () => void;
  private readonly gate = new Promise<void>((resolve) => (this.openGate = resolve));

  constructor(
    private readonly state: ConfigState,
    private readonly env: (name: string) => unknown,
  ) {}

  /** Every field change, in the order they were applied. */
  get changes(): Observable<ConfigFieldChange> {
    return this.stream.asObservable();
  }

  /** The configuration has loaded: re-reads may run. */
  open(): void {
    this.openGate();
  }

  /** Queues a re-read of `plan`'s field through `resolver`, after those already queued for it. */
  enqueue(
    plan: FieldPlan,
    trigger: RefreshTrigger,
    resolver: ConfigResolver,
  ): Promise<RefreshOutcome> {
    const previous = this.queues.get(plan.field) ?? this.gate.then(() => 'unchanged' as const);
    const next = previous.then(() => this.refresh(plan, trigger, resolver));
    this.queues.set(plan.field, next);
    void next.then(() => {
      if (this.queues.get(plan.field) === next) this.queues.delete(plan.field);
    });
    return next;
  }

  /** Lets the re-reads under way finish (a re-read queued before loading is dropped). */
  async drain(): Promise<void> {
    this.openGate();
    await Promise.all(this.queues.values());
  }

  complete(): void {
    this.stream.complete();
  }

  private async refresh(
    plan: FieldPlan,
    trigger: RefreshTrigger,
    resolver: ConfigResolver,
  ): Promise<RefreshOutcome> {
    if (!this.state.loaded) return 'unchanged';
    try {
      const result = await resolver.resolveOne(plan, this.state.snapshot());
      if (!result.ok) {
        this.reject(plan, trigger, result.problems);
        return 'refused';
      }
      const previous = this.state.current(plan.field);
      const next = result.state;
      if (same(previous, next)) return 'unchanged';
      this.state.replace(plan.field, next);
      const event: ConfigFieldChange = {
        field: plan.field,
        secret: trigger.secret,
        reason: trigger.reason,
        source: next.source,
        previousSource: previous.source,
        key: next.key,
        at: next.updatedAt,
      };
      this.logger.log({ event: CONFIG_EVENTS.fieldChanged, ...event, at: event.at.toISOString() });
      warnAboutSource(this.logger, plan, next, this.env);
      this.stream.next(event);
      return 'changed';
    } catch (error) {
      // Never reached by a refused value (that is a result); only by a bug or a driver failure.
      this.reject(plan, trigger, [], error instanceof Error ? error.name : 'unknown error');
      return 'refused';
    }
  }

  private reject(
    plan: FieldPlan,
    trigger: RefreshTrigger,
    problems: readonly ConfigProblem[],
    failure?: string,
  ): void {
    this.logger.error({
      event: CONFIG_EVENTS.fieldRejected,
      field: plan.field,
      secret: trigger.secret,
      reason: trigger.reason,
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

const same = (a: FieldState, b: FieldState): boolean =>
  a.fingerprint === b.fingerprint && a.source === b.source && a.key === b.key;
