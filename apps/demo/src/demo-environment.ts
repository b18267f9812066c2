import { join } from 'node:path';
import type { KmsRegionOptions } from '@nest-kms/kms';
import { UnknownHttpAdapterError } from './http/unknown-http-adapter.error.js';

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

/**
 * The region the demo runs in (KMS_REGION_ROLE, default primary; KMS_REGION_PRIMARY names
 * where a replica's writes go), from the handed-in environment rather than KmsModule's own
 * read of process.env. An unknown role is KmsModule's to refuse.
 */
export function demoRegion(env: DemoEnvironment): KmsRegionOptions {
  return {
    role: (env.KMS_REGION_ROLE || 'primary') as KmsRegionOptions['role'],
    primary: env.KMS_REGION_PRIMARY || undefined,
  };
}

/** The HTTP platforms the demo runs on. */
export const HTTP_ADAPTERS = ['express', 'fastify'] as const;
export type HttpAdapterName = (typeof HTTP_ADAPTERS)[number];

/**
 * The HTTP platform (HTTP_ADAPTER, default express). Read before the application exists, so
 * not through DemoConfig, which is resolved inside it.
 */
export function httpAdapterName(env: DemoEnvironment): HttpAdapterName {
  const name = env.HTTP_ADAPTER || 'express';
  if (!(HTTP_ADAPTERS as readonly string[]).includes(name)) {
    throw new UnknownHttpAdapterError(name, HTTP_ADAPTERS);
  }
  return name as HttpAdapterName;
}
