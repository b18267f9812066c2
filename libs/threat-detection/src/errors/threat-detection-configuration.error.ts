import { ThreatDetectionError } from './threat-detection.error.js';

/** Threat-detection options or a saved rules state that cannot work (a negative window, an unknown rule). */
export class ThreatDetectionConfigurationError extends ThreatDetectionError {
  readonly code: string = 'THREAT_DETECTION_CONFIGURATION';
  constructor(problem: string) {
    super(`Threat detection configuration: ${problem}`);
  }
}
