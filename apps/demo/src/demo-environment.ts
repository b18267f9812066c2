import { join } from 'node:path';

/**
 * The settings the demo reads, as environment variables: `process.env` in main.ts; tests pass
 * their own so that several apps with different settings run in one process.
 */
export type DemoEnvironment = Readonly<Record<string, string | undefined>>;

/** Injection token of the DemoEnvironment. */
export const DEMO_ENVIRONMENT = Symbol('nest-kms-demo:environment');

export const isProduction = (env: DemoEnvironment): boolean => env.NODE_ENV === 'production';

/** Where the embedded database and the development key files live (DATA_DIR, default ./data). */
export const dataDirectory = (env: DemoEnvironment): string => env.DATA_DIR || 'data';

/** The development files, never used in production. */
export const developmentMasterKeyFile = (env: DemoEnvironment): string =>
  join(dataDirectory(env), 'dev-master.key');
export const developmentAdminTokenFile = (env: DemoEnvironment): string =>
  join(dataDirectory(env), 'dev-admin-token');
