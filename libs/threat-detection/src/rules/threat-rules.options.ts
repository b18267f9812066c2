import { quotedInput } from '@nest-kms/kms';
import { ThreatDetectionConfigurationError } from '../errors/threat-detection-configuration.error.js';
import { THREAT_SEVERITIES, type ThreatSeverity } from './threat-finding.interface.js';
import type { ThreatRulesOptions } from './threat-rules-options.interface.js';

export interface ResolvedRule {
  readonly enabled: boolean;
  readonly severity: ThreatSeverity;
}
export interface ResolvedCountingRule extends ResolvedRule {
  readonly threshold: number;
  readonly windowMs: number;
}
export interface ResolvedReadVolumeRule extends ResolvedRule {
  readonly windowMs: number;
  readonly minReads: number;
  readonly baselineFactor: number;
  readonly baselineWindows: number;
  readonly baselineWeight: number;
}
export interface ResolvedChangeThenReadRule extends ResolvedCountingRule {
  readonly excludeActors: readonly string[];
}

/** Every setting of the threat rules, defaults merged (resolveThreatRules). */
export interface ResolvedThreatRules {
  readonly learningPeriodMs: number;
  readonly cooldownMs: number;
  readonly reorderToleranceMs: number;
  readonly ignoreActors: readonly string[];
  readonly maxKnownActors: number;
  readonly maxNamesPerActor: number;
  readonly maxKnownPairs: number;
  readonly decryptionFailures: ResolvedCountingRule;
  readonly secretEnumeration: ResolvedCountingRule;
  readonly notFoundProbing: ResolvedCountingRule;
  readonly readVolume: ResolvedReadVolumeRule;
  readonly deletedSecretRead: ResolvedCountingRule;
  readonly keyDestructionRefused: ResolvedCountingRule;
  readonly masterKeyMismatch: ResolvedCountingRule;
  readonly sensitiveReadByNewActor: ResolvedRule;
  readonly listThenBulkRead: ResolvedCountingRule;
  readonly changeThenRead: ResolvedChangeThenReadRule;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** The defaults, in the one place they are merged; why each is what it is: docs/threat-detection.md. */
export const THREAT_RULES_DEFAULTS: ResolvedThreatRules = {
  learningPeriodMs: 24 * HOUR,
  cooldownMs: HOUR,
  reorderToleranceMs: 10 * MINUTE,
  ignoreActors: [],
  maxKnownActors: 10_000,
  maxNamesPerActor: 10_000,
  maxKnownPairs: 500_000,
  decryptionFailures: { enabled: true, severity: 'high', threshold: 10, windowMs: MINUTE },
  secretEnumeration: { enabled: true, severity: 'high', threshold: 20, windowMs: HOUR },
  notFoundProbing: { enabled: true, severity: 'medium', threshold: 10, windowMs: 5 * MINUTE },
  readVolume: {
    enabled: true,
    severity: 'high',
    windowMs: 5 * MINUTE,
    minReads: 500,
    baselineFactor: 10,
    baselineWindows: 12,
    baselineWeight: 0.1,
  },
  deletedSecretRead: { enabled: true, severity: 'medium', threshold: 3, windowMs: 10 * MINUTE },
  keyDestructionRefused: { enabled: true, severity: 'high', threshold: 1, windowMs: 10 * MINUTE },
  masterKeyMismatch: { enabled: true, severity: 'critical', threshold: 1, windowMs: 10 * MINUTE },
  sensitiveReadByNewActor: { enabled: true, severity: 'high' },
  listThenBulkRead: { enabled: true, severity: 'high', threshold: 10, windowMs: 5 * MINUTE },
  changeThenRead: {
    enabled: true,
    severity: 'medium',
    threshold: 5,
    windowMs: 10 * MINUTE,
    excludeActors: ['nest-kms:auto-rotation'],
  },
};

type Check = 'positiveInt' | 'nonNegativeInt' | 'positiveNumber' | 'fraction' | 'actors';

const GLOBAL_CHECKS: Record<string, Check> = {
  learningPeriodMs: 'nonNegativeInt',
  cooldownMs: 'nonNegativeInt',
  reorderToleranceMs: 'nonNegativeInt',
  ignoreActors: 'actors',
  maxKnownActors: 'positiveInt',
  maxNamesPerActor: 'positiveInt',
  maxKnownPairs: 'positiveInt',
};
const COUNTING: Record<string, Check> = { threshold: 'positiveInt', windowMs: 'positiveInt' };
const RULE_CHECKS: Record<string, Record<string, Check>> = {
  decryptionFailures: COUNTING,
  secretEnumeration: COUNTING,
  notFoundProbing: COUNTING,
  readVolume: {
    windowMs: 'positiveInt',
    minReads: 'positiveInt',
    baselineFactor: 'positiveNumber',
    baselineWindows: 'positiveInt',
    baselineWeight: 'fraction',
  },
  deletedSecretRead: COUNTING,
  keyDestructionRefused: COUNTING,
  masterKeyMismatch: COUNTING,
  sensitiveReadByNewActor: {},
  listThenBulkRead: COUNTING,
  changeThenRead: { ...COUNTING, excludeActors: 'actors' },
};

const PROBLEMS: Record<Check, string> = {
  positiveInt: 'a positive integer',
  nonNegativeInt: 'a non-negative integer',
  positiveNumber: 'a positive finite number',
  fraction: 'a number above 0 and at most 1',
  actors: 'an array of non-empty strings',
};

function passes(check: Check, value: unknown): boolean {
  switch (check) {
    case 'positiveInt':
      return Number.isSafeInteger(value) && (value as number) > 0;
    case 'nonNegativeInt':
      return Number.isSafeInteger(value) && (value as number) >= 0;
    case 'positiveNumber':
      return typeof value === 'number' && Number.isFinite(value) && value > 0;
    case 'fraction':
      return typeof value === 'number' && value > 0 && value <= 1;
    case 'actors':
      return (
        Array.isArray(value) &&
        value.every((actor) => typeof actor === 'string' && actor.length > 0)
      );
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks `given` against `checks` and merges it over `defaults`; `path` names the option in messages. */
function merged<T extends object>(
  path: string,
  given: unknown,
  defaults: T,
  checks: Record<string, Check>,
  nested: Record<string, Record<string, Check>> = {},
): T {
  if (given === undefined) return defaults;
  if (!isPlainObject(given)) {
    throw new ThreatDetectionConfigurationError(
      `${path === '' ? 'the options' : `option ${path}`} must be an object`,
    );
  }
  const result = { ...defaults } as Record<string, unknown>;
  for (const [field, value] of Object.entries(given)) {
    const name = path === '' ? field : `${path}.${field}`;
    if (value === undefined) continue;
    const check = checks[field];
    if (field in nested) {
      result[field] = merged(
        name,
        value,
        (defaults as Record<string, object>)[field],
        nested[field],
      );
    } else if (field === 'enabled' && path !== '') {
      if (typeof value !== 'boolean') {
        throw new ThreatDetectionConfigurationError(`option ${name} must be true or false`);
      }
      result[field] = value;
    } else if (field === 'severity' && path !== '') {
      if (!THREAT_SEVERITIES.includes(value as ThreatSeverity)) {
        throw new ThreatDetectionConfigurationError(
          `option ${name} must be one of ${THREAT_SEVERITIES.join(', ')} (got ${quotedInput(value)})`,
        );
      }
      result[field] = value;
    } else if (check === undefined) {
      throw new ThreatDetectionConfigurationError(
        `unknown option ${quotedInput(name)}; the options are ${[...Object.keys(checks), ...Object.keys(nested), ...(path === '' ? [] : ['enabled', 'severity'])].join(', ')}`,
      );
    } else if (!passes(check, value)) {
      throw new ThreatDetectionConfigurationError(
        `option ${name} must be ${PROBLEMS[check]} (got ${quotedInput(value)})`,
      );
    } else {
      result[field] = check === 'actors' ? [...(value as string[])] : value;
    }
  }
  return result as T;
}

/** The one place defaults are merged; throws ThreatDetectionConfigurationError on a bad option. */
export function resolveThreatRules(options: ThreatRulesOptions | undefined): ResolvedThreatRules {
  const resolved = merged('', options, THREAT_RULES_DEFAULTS, GLOBAL_CHECKS, RULE_CHECKS);
  if (resolved.maxKnownPairs < resolved.maxNamesPerActor) {
    throw new ThreatDetectionConfigurationError(
      `option maxKnownPairs (${resolved.maxKnownPairs}) must be at least maxNamesPerActor (${resolved.maxNamesPerActor})`,
    );
  }
  return resolved;
}
