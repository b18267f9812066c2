import { KmsConfigurationError } from '@nest-kms/kms';
import type { SecretsModuleOptions } from './interfaces/secrets-module-options.interface.js';

export interface ResolvedSecretsOptions {
  cacheTtlMs: number;
  cacheMaxEntries: number;
  cacheMaxBytes: number;
  recoveryWindowDays: number;
  auditFailClosed: boolean;
  auditFlushIntervalMs: number;
  auditRetryIntervalMs: number;
  auditMaxBufferedRecords: number;
  auditSealIntervalMs: number;
  lifecycleCheckIntervalMs: number;
  rotationLeaseMs: number;
  clock: () => number;
}

/** 16 MiB: 1,000 entries (the default cacheMaxEntries) of up to ~16 KiB each fit; bench/memory.bench.ts. */
const DEFAULT_CACHE_MAX_BYTES = 16 * 1024 * 1024;

/** The one place defaults are merged. */
export function resolveSecretsOptions(options: SecretsModuleOptions): ResolvedSecretsOptions {
  const resolved: ResolvedSecretsOptions = {
    cacheTtlMs: options.cacheTtlMs ?? 300_000,
    cacheMaxEntries: options.cacheMaxEntries ?? 1_000,
    cacheMaxBytes: options.cacheMaxBytes ?? DEFAULT_CACHE_MAX_BYTES,
    recoveryWindowDays: options.recoveryWindowDays ?? 30,
    auditFailClosed: options.audit?.failClosed ?? false,
    auditFlushIntervalMs: options.audit?.flushIntervalMs ?? 1_000,
    auditRetryIntervalMs: options.audit?.retryIntervalMs ?? 5_000,
    auditMaxBufferedRecords: options.audit?.maxBufferedRecords ?? 100_000,
    auditSealIntervalMs: options.audit?.sealIntervalMs ?? 5_000,
    lifecycleCheckIntervalMs: options.lifecycle?.checkIntervalMs ?? 60_000,
    rotationLeaseMs: options.lifecycle?.rotationLeaseMs ?? 900_000,
    clock: options.clock ?? Date.now,
  };
  for (const field of [
    'cacheTtlMs',
    'cacheMaxEntries',
    'cacheMaxBytes',
    'recoveryWindowDays',
    'auditFlushIntervalMs',
    'auditRetryIntervalMs',
    'auditSealIntervalMs',
    'lifecycleCheckIntervalMs',
  ] as const) {
    if (!Number.isSafeInteger(resolved[field]) || resolved[field] < 0) {
      throw new KmsConfigurationError(
        `SecretsModule option ${field} must be a non-negative integer`,
      );
    }
  }
  if (
    !Number.isSafeInteger(resolved.auditMaxBufferedRecords) ||
    resolved.auditMaxBufferedRecords < 1
  ) {
    throw new KmsConfigurationError(
      'SecretsModule option audit.maxBufferedRecords must be a positive integer',
    );
  }
  if (!Number.isSafeInteger(resolved.rotationLeaseMs) || resolved.rotationLeaseMs < 1) {
    throw new KmsConfigurationError(
      'SecretsModule option lifecycle.rotationLeaseMs must be a positive integer',
    );
  }
  return resolved;
}
