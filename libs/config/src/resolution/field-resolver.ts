import { NestKmsError } from '@nest-kms/kms';
import { convertValue } from '../conversion/value-conversion.js';
import { fingerprint, type FieldState } from '../config-state.js';
import type { ConfigProblem } from '../interfaces/config-problem.interface.js';
import type { ConfigSource } from '../interfaces/config-status.interface.js';
import type { FieldPlan } from '../schema/config-plan.js';

/** Where values come from. */
export interface SourceReaders {
  /** The secret's current value; undefined when the store has no such secret. Other failures throw. */
  secret(name: string): Promise<string | undefined>;
  /** The environment variable (through ConfigService); undefined when unset. */
  env(name: string): unknown;
}

export type FieldResolution =
  | { readonly ok: true; readonly state: FieldState; readonly raw: unknown }
  | { readonly ok: false; readonly problem: ConfigProblem };

/**
 * One field, by the documented precedence: the secret store; then, where the field allows it,
 * the environment; then the class default. An empty environment variable counts as unset. A
 * secret that exists but cannot be read (expired, deleted, undecryptable) is a problem, never a
 * reason to fall back: falling back would quietly bring back an older, plaintext value.
 */
export async function resolveField(
  plan: FieldPlan,
  readers: SourceReaders,
  now: Date,
): Promise<FieldResolution> {
  if (plan.secret !== null) {
    let raw: string | undefined;
    try {
      raw = await readers.secret(plan.secret);
    } catch (error) {
      return { ok: false, problem: unavailable(plan, plan.secret, error) };
    }
    if (raw !== undefined) return converted(plan, 'secret', plan.secret, raw, now);
  }
  if (plan.env !== null) {
    const raw = readers.env(plan.env);
    if (raw !== undefined && raw !== null && raw !== '') {
      return converted(plan, 'env', plan.env, raw, now);
    }
  }
  if (plan.defaultValue !== undefined) {
    return settled('default', null, plan.defaultValue, plan.defaultValue, now);
  }
  if (plan.optional) return settled('unset', null, undefined, undefined, now);
  return {
    ok: false,
    problem: {
      field: plan.field,
      kind: 'missing',
      source: null,
      key: null,
      constraints: { missing: missingReason(plan) },
    },
  };
}

function converted(
  plan: FieldPlan,
  source: ConfigSource,
  key: string,
  raw: unknown,
  now: Date,
): FieldResolution {
  const conversion = convertValue(raw, plan.valueType);
  if (!conversion.ok) {
    return {
      ok: false,
      problem: {
        field: plan.field,
        kind: 'conversion',
        source,
        key,
        constraints: { [plan.valueType.type]: `${plan.field} ${conversion.reason}` },
      },
    };
  }
  return settled(source, key, conversion.value, raw, now);
}

function settled(
  source: ConfigSource,
  key: string | null,
  value: unknown,
  raw: unknown,
  now: Date,
): FieldResolution {
  return {
    ok: true,
    raw,
    state: { value, source, key, fingerprint: fingerprint(raw), updatedAt: now },
  };
}

function unavailable(plan: FieldPlan, secret: string, error: unknown): ConfigProblem {
  // nest-kms error messages carry names, never values; other errors (a driver's) may carry anything.
  const reason =
    error instanceof NestKmsError
      ? error.message
      : `the store could not be read (${error instanceof Error ? error.name : 'unknown error'})`;
  return {
    field: plan.field,
    kind: 'unavailable',
    source: 'secret',
    key: secret,
    constraints: { unavailable: reason },
    code: error instanceof NestKmsError ? error.code : 'UNEXPECTED',
  };
}

function missingReason(plan: FieldPlan): string {
  if (plan.secret !== null) {
    const env =
      plan.env !== null
        ? `, no environment variable ${plan.env}`
        : ' (no environment fallback: add { fallbackToEnv: true } or store it)';
    return `no secret ${plan.secret} in the store${env}, and no default`;
  }
  if (plan.env !== null) return `environment variable ${plan.env} is not set, and no default`;
  return 'no source and no default';
}
