import { createHash } from 'node:crypto';
import { ConfigNotLoadedError } from './errors/config-not-loaded.error.js';
import type { ConfigSource, ConfigStatus } from './interfaces/config-status.interface.js';
import { MASK } from './config.messages.js';
import type { FieldPlan } from './schema/config-plan.js';

/** A field's current value and where it came from. */
export interface FieldState {
  readonly value: unknown;
  readonly source: ConfigSource;
  readonly key: string | null;
  /** A digest of the raw value, to tell a real change from a rewrite of the same value. */
  readonly fingerprint: string;
  readonly updatedAt: Date;
}

/** The loaded values of a schema: set whole at start-up, then field by field on rotation. */
export class ConfigState {
  private readonly fields = new Map<string, FieldState>();
  private loadedAt: Date | null = null;

  constructor(
    readonly schema: string,
    readonly plans: readonly FieldPlan[],
  ) {}

  get loaded(): boolean {
    return this.loadedAt !== null;
  }

  /** Every field at once: the configuration is never partly loaded. */
  load(fields: ReadonlyMap<string, FieldState>, at: Date): void {
    for (const [field, state] of fields) this.fields.set(field, state);
    this.loadedAt = at;
  }

  replace(field: string, state: FieldState): void {
    this.fields.set(field, state);
  }

  current(field: string): FieldState {
    const state = this.fields.get(field);
    if (!this.loaded || !state) throw new ConfigNotLoadedError(this.schema, field);
    return state;
  }

  value(field: string): unknown {
    return this.current(field).value;
  }

  /** Every field's state, for validating a candidate change beside the others. */
  snapshot(): ReadonlyMap<string, FieldState> {
    return new Map(this.fields);
  }

  status(): ConfigStatus {
    const fields: ConfigStatus['fields'] = {};
    for (const plan of this.plans) {
      const state = this.loaded ? this.fields.get(plan.field) : undefined;
      fields[plan.field] = {
        source: state?.source ?? 'unset',
        key: state?.key ?? null,
        secret: plan.secret,
        env: plan.env,
        sensitive: plan.sensitive,
        value: state === undefined ? undefined : shown(state.value, plan.sensitive),
        updatedAt: state?.updatedAt ?? null,
      };
    }
    return { schema: this.schema, loaded: this.loaded, loadedAt: this.loadedAt, fields };
  }
}

/** What may be shown of a value: the mask for a sensitive one that is set. */
export const shown = (value: unknown, sensitive: boolean): unknown =>
  sensitive && value !== undefined && value !== null ? MASK : value;

export function fingerprint(raw: unknown): string {
  const text = typeof raw === 'string' ? `s:${raw}` : `j:${JSON.stringify(raw) ?? 'undefined'}`;
  return createHash('sha256').update(text).digest('base64url');
}
