import type { ConfigSource } from './config-status.interface.js';

/**
 * One reason the configuration was refused:
 * - `declaration`: a decorator names no usable source (empty or invalid name, two sources,
 *   a type that cannot be read)
 * - `missing`: no value anywhere and no default
 * - `unavailable`: the secret exists but cannot be read (expired, deleted, undecryptable)
 * - `conversion`: the text is not a number, boolean, date or JSON as the field needs
 * - `validation`: class-validator refused the value
 */
export type ConfigProblemKind =
  'declaration' | 'missing' | 'unavailable' | 'conversion' | 'validation';

export interface ConfigProblem {
  field: string;
  kind: ConfigProblemKind;
  /** The source that served the refused value, when there was one. */
  source: ConfigSource | null;
  /** The secret or environment variable that served it, when there was one. */
  key: string | null;
  /** Constraint (or problem kind) → message. Messages never contain the value. */
  constraints: Record<string, string>;
  /** The error code of an unreadable secret (`unavailable`). */
  code?: string;
}
