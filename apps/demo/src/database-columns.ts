import type { ValueTransformer } from 'typeorm';

/** Times as bigint milliseconds since the epoch, exact on both engines; pg returns bigint as a string. */
export const epochMillis: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | number | null) => (value === null ? null : Number(value)),
};
