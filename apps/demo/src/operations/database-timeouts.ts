import type { KmsDatabaseOptions } from '@nest-kms/kms';
import type { DemoEnvironment } from '../demo-environment.js';

/**
 * The time limits of the demo's DataSource, in milliseconds: DATABASE_CONNECT_TIMEOUT_MS and
 * DATABASE_STATEMENT_TIMEOUT_MS, else nest-kms's defaults (see withDatabaseTimeouts).
 */
export function databaseTimeouts(env: DemoEnvironment): KmsDatabaseOptions {
  return {
    connectTimeoutMs: milliseconds(env, 'DATABASE_CONNECT_TIMEOUT_MS'),
    statementTimeoutMs: milliseconds(env, 'DATABASE_STATEMENT_TIMEOUT_MS'),
  };
}

/** A positive whole number of milliseconds from `env[name]`, or undefined when it is unset. */
export function milliseconds(env: DemoEnvironment, name: string): number | undefined {
  const text = env[name];
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new Error(`${name} must be a positive whole number of milliseconds`);
  }
  return value;
}
