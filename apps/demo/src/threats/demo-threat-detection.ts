import type { ThreatDetectionModuleOptions, ThreatSeverity } from '@nest-kms/threat-detection';
import type { DemoEnvironment } from '../demo-environment.js';

/**
 * ThreatDetectionModule's options from the environment: THREAT_DETECTION_INTERVAL_MS (how
 * often the detector reads the trail; the library's default otherwise) and
 * THREAT_BLOCK_SEVERITY (block the actor of a detection at this severity or above; no blocking
 * unless set). Values the library refuses stop the start with its typed error.
 */
export function demoThreatDetection(env: DemoEnvironment): ThreatDetectionModuleOptions {
  const interval = env.THREAT_DETECTION_INTERVAL_MS;
  const severity = env.THREAT_BLOCK_SEVERITY;
  return {
    ...(interval ? { intervalMs: Number(interval) } : {}),
    ...(severity ? { response: { blockAtSeverity: severity as ThreatSeverity } } : {}),
  };
}
