import type { ValueTransformer } from 'typeorm';

/**
 * Times are stored as bigint milliseconds since the epoch: one exact representation on
 * Postgres and SQLite. pg returns bigint as a string, hence the conversion.
 */
export const epochMillis: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | number | null) => (value === null ? null : Number(value)),
};
