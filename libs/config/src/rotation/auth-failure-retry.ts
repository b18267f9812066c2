import type { ConfigState, FieldState } from '../config-state.js';
import { ConfigCredentialsRejectedError } from '../errors/config-credentials-rejected.error.js';
import type { ConfigResolver } from '../resolution/config-resolver.js';
import type { FieldPlan } from '../schema/config-plan.js';
import type { ConfigRefresh, RefreshOutcome } from './config-refresh.js';

/** The field after a fresh read, and how that read ended. */
interface Refreshed {
  readonly state: FieldState;
  readonly outcome: RefreshOutcome;
}

/**
 * Credentials cached at start-up and rotated on the other side (a database password changed
 * by its provider) are refused until someone reads the store again. Here a refusal reads the
 * field's secret from the store itself (not the cache) once, and the caller tries once more
 * with the newer value: at most two attempts and one read per call, never a loop. Callers
 * refused with the same value at the same time share one read; a caller refused with a value
 * that has meanwhile been replaced retries with the current one without reading again.
 */
export class AuthFailureRetry {
  /** Fresh reads under way, by field, with the fingerprint of the value they replace. */
  private readonly reads = new Map<string, { fingerprint: string; read: Promise<Refreshed> }>();

  constructor(
    private readonly schema: string,
    private readonly state: ConfigState,
    private readonly refresh: ConfigRefresh,
    private readonly fresh: ConfigResolver,
  ) {}

  async run<V, R>(
    plan: FieldPlan & { secret: string },
    use: (value: V) => Promise<R> | R,
    isAuthFailure: (error: unknown) => boolean,
  ): Promise<R> {
    const used = this.state.current(plan.field);
    try {
      return await use(used.value as V);
    } catch (error) {
      if (!isAuthFailure(error)) throw error;
      const { state, outcome } = await this.newerThan(plan, used);
      if (state.fingerprint === used.fingerprint) {
        throw this.rejected(plan, outcome === 'refused' ? 'refused' : 'unchanged', error);
      }
      try {
        return await use(state.value as V);
      } catch (again) {
        if (isAuthFailure(again)) throw this.rejected(plan, 'rejected-again', again);
        throw again;
      }
    }
  }

  /** The field's value if it is no longer `used`, else after one fresh read shared by every caller refused with `used`. */
  private async newerThan(plan: FieldPlan, used: FieldState): Promise<Refreshed> {
    const current = this.state.current(plan.field);
    if (current.fingerprint !== used.fingerprint) return { state: current, outcome: 'changed' };
    const pending = this.reads.get(plan.field);
    if (pending?.fingerprint === used.fingerprint) return pending.read;
    const read = this.refresh
      .enqueue(plan, { secret: plan.secret as string, reason: 'refreshed' }, this.fresh)
      .then((outcome) => ({ state: this.state.current(plan.field), outcome }));
    const entry = { fingerprint: used.fingerprint, read };
    this.reads.set(plan.field, entry);
    try {
      return await read;
    } finally {
      if (this.reads.get(plan.field) === entry) this.reads.delete(plan.field);
    }
  }

  private rejected(
    plan: FieldPlan & { secret: string },
    reason: 'unchanged' | 'refused' | 'rejected-again',
    cause: unknown,
  ): ConfigCredentialsRejectedError {
    return new ConfigCredentialsRejectedError(this.schema, plan.field, plan.secret, reason, {
      cause,
    });
  }
}
