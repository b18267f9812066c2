import { ThreatDetectionConfigurationError } from './errors/threat-detection-configuration.error.js';
import type { ThreatDetectionModuleOptions } from './interfaces/threat-detection-options.interface.js';
import { THREAT_SEVERITIES, type ThreatSeverity } from './rules/threat-finding.interface.js';
import { resolveThreatRules, type ResolvedThreatRules } from './rules/threat-rules.options.js';

export interface ResolvedThreatDetectionOptions {
  rules: ResolvedThreatRules;
  intervalMs: number;
  leaseMs: number;
  snapshotIntervalMs: number;
  verifyIntervalMs: number;
  sensitiveTag: string;
  blockAtSeverity: ThreatSeverity | null;
  blockDurationMs: number;
  neverBlock: ReadonlySet<string>;
  clock: () => number;
}

/** The one place defaults are merged; a bad value is refused with its name. */
export function resolveThreatDetectionOptions(
  options: ThreatDetectionModuleOptions,
): ResolvedThreatDetectionOptions {
  const resolved: ResolvedThreatDetectionOptions = {
    rules: resolveThreatRules(options.rules),
    intervalMs: options.intervalMs ?? 5_000,
    leaseMs: options.leaseMs ?? 30_000,
    snapshotIntervalMs: options.snapshotIntervalMs ?? 60_000,
    verifyIntervalMs: options.verifyIntervalMs ?? 3_600_000,
    sensitiveTag: options.sensitiveTag ?? 'sensitive',
    blockAtSeverity: options.response?.blockAtSeverity ?? null,
    blockDurationMs: options.response?.blockDurationMs ?? 900_000,
    neverBlock: new Set(options.response?.neverBlock ?? []),
    clock: options.clock ?? Date.now,
  };
  for (const field of ['intervalMs', 'snapshotIntervalMs', 'verifyIntervalMs'] as const) {
    wholeNumber(field, resolved[field], 0);
  }
  wholeNumber('leaseMs', resolved.leaseMs, 1);
  wholeNumber('response.blockDurationMs', resolved.blockDurationMs, 1);
  if (resolved.intervalMs > 0 && resolved.leaseMs <= resolved.intervalMs) {
    throw new ThreatDetectionConfigurationError(
      `leaseMs must be longer than intervalMs (${resolved.intervalMs}), or the lease lapses between passes`,
    );
  }
  if (
    typeof resolved.sensitiveTag !== 'string' ||
    !/^[A-Za-z0-9_.:-]{1,64}$/.test(resolved.sensitiveTag)
  ) {
    throw new ThreatDetectionConfigurationError(
      'sensitiveTag must be a tag name (letters, digits, _ . : -)',
    );
  }
  if (resolved.blockAtSeverity !== null && !THREAT_SEVERITIES.includes(resolved.blockAtSeverity)) {
    throw new ThreatDetectionConfigurationError(
      `response.blockAtSeverity must be one of ${THREAT_SEVERITIES.join(', ')}`,
    );
  }
  return resolved;
}

function wholeNumber(field: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new ThreatDetectionConfigurationError(`${field} must be an integer of at least ${min}`);
  }
}
