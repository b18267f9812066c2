import { quotedInput } from '@nest-kms/kms';
import { InvalidBackupError } from '../errors/invalid-backup.error.js';

/* Field checks for an opened backup payload: each refusal is an InvalidBackupError naming the field. */

export function fail(problem: string): never {
  throw new InvalidBackupError(problem);
}

/** A plain object with exactly `names` as its keys: an unknown field is refused, not dropped. */
export function record<K extends string>(
  value: unknown,
  at: string,
  names: readonly K[],
): Record<K, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    fail(`${at} is not an object`);
  }
  const keys = Object.keys(value);
  const missing = names.filter((name) => !Object.hasOwn(value, name));
  const unknown = keys.filter((key) => !(names as readonly string[]).includes(key));
  if (missing.length > 0) fail(`${at} lacks ${missing.join(', ')}`);
  if (unknown.length > 0) fail(`${at} has unknown field(s) ${quotedList(unknown)}`);
  return value as Record<K, unknown>;
}

/** The first few of `values`, each quoted, and how many more: a message of bounded length. */
function quotedList(values: readonly string[], shown = 3): string {
  const more = values.length > shown ? ` and ${values.length - shown} more` : '';
  return values.slice(0, shown).map(quotedInput).join(', ') + more;
}

export function list(value: unknown, at: string): unknown[] {
  if (!Array.isArray(value)) fail(`${at} is not an array`);
  return value;
}

export function text(value: unknown, at: string): string {
  if (typeof value !== 'string' || value.length === 0) fail(`${at} is not a non-empty string`);
  return value;
}

export function positive(value: unknown, at: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 1)
    fail(`${at} is not a positive integer`);
  return value as number;
}

export function epoch(value: unknown, at: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) fail(`${at} is not an epoch time`);
  return value as number;
}

export function nullableEpoch(value: unknown, at: string): number | null {
  return value === null ? null : epoch(value, at);
}

export function unique(values: string[], what: string): void {
  const seen = new Set<string>();
  for (const value of values) {
    if (seen.has(value)) fail(`${what} ${quotedInput(value)} appears twice`);
    seen.add(value);
  }
}

export function isIsoDate(value: string): boolean {
  const time = Date.parse(value);
  return Number.isFinite(time) && new Date(time).toISOString() === value;
}
