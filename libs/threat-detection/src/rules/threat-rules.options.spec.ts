import { NestKmsError } from '@nest-kms/kms';
import { ThreatDetectionConfigurationError } from '../errors/threat-detection-configuration.error.js';
import { resolveThreatRules, THREAT_RULES_DEFAULTS } from './threat-rules.options.js';

describe('resolveThreatRules', () => {
  it('gives the documented defaults without options', () => {
    expect(resolveThreatRules(undefined)).toEqual(THREAT_RULES_DEFAULTS);
    expect(resolveThreatRules({})).toEqual(THREAT_RULES_DEFAULTS);
    expect(THREAT_RULES_DEFAULTS.learningPeriodMs).toBe(86_400_000);
    expect(THREAT_RULES_DEFAULTS.decryptionFailures).toEqual({
      enabled: true,
      severity: 'high',
      threshold: 10,
      windowMs: 60_000,
    });
  });

  it('merges a rule’s given fields over its defaults and keeps the rest', () => {
    const resolved = resolveThreatRules({
      cooldownMs: 0,
      ignoreActors: ['ci'],
      readVolume: { minReads: 2_000, severity: 'critical' },
      changeThenRead: { enabled: false },
    });
    expect(resolved.cooldownMs).toBe(0);
    expect(resolved.ignoreActors).toEqual(['ci']);
    expect(resolved.readVolume).toEqual({
      ...THREAT_RULES_DEFAULTS.readVolume,
      minReads: 2_000,
      severity: 'critical',
    });
    expect(resolved.changeThenRead).toEqual({
      ...THREAT_RULES_DEFAULTS.changeThenRead,
      enabled: false,
    });
  });

  it.each([
    [{ learningPeriodMs: -1 }, 'option learningPeriodMs must be a non-negative integer (got -1)'],
    [{ cooldownMs: 1.5 }, 'option cooldownMs must be a non-negative integer (got 1.5)'],
    [
      { decryptionFailures: { threshold: 0 } },
      'option decryptionFailures.threshold must be a positive integer (got 0)',
    ],
    [
      { notFoundProbing: { windowMs: '60s' } },
      'option notFoundProbing.windowMs must be a positive integer (got "60s")',
    ],
    [
      { readVolume: { baselineWeight: 1.5 } },
      'option readVolume.baselineWeight must be a number above 0 and at most 1 (got 1.5)',
    ],
    [
      { readVolume: { baselineFactor: Infinity } },
      'option readVolume.baselineFactor must be a positive finite number (got Infinity)',
    ],
    [
      { secretEnumeration: { severity: 'urgent' } },
      'option secretEnumeration.severity must be one of low, medium, high, critical (got "urgent")',
    ],
    [
      { masterKeyMismatch: { enabled: 'no' } },
      'option masterKeyMismatch.enabled must be true or false',
    ],
    [
      { ignoreActors: 'ci' },
      'option ignoreActors must be an array of non-empty strings (got "ci")',
    ],
    [
      { changeThenRead: { excludeActors: [''] } },
      'option changeThenRead.excludeActors must be an array of non-empty strings (got (array))',
    ],
    [{ listThenBulkRead: 10 }, 'option listThenBulkRead must be an object'],
    [
      { maxNamesPerActor: 10, maxKnownPairs: 5 },
      'option maxKnownPairs (5) must be at least maxNamesPerActor (10)',
    ],
    [{ decryptionFailure: { enabled: false } }, 'unknown option "decryptionFailure"'],
    [{ readVolume: { threshold: 3 } }, 'unknown option "readVolume.threshold"'],
  ])('refuses %j with a typed error', (options, message) => {
    let error: unknown;
    try {
      resolveThreatRules(options as never);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ThreatDetectionConfigurationError);
    expect(error).toBeInstanceOf(NestKmsError);
    expect((error as ThreatDetectionConfigurationError).code).toBe(
      'THREAT_DETECTION_CONFIGURATION',
    );
    expect((error as Error).message).toContain(message);
  });
});
