/** Structured log event names of threat detection. */
export const THREAT_EVENTS = {
  detected: 'threat_detected',
  detectorTookOver: 'threat_detector_took_over',
  detectorStateRefused: 'threat_detector_state_refused',
  actorBlocked: 'actor_blocked',
  actorUnblocked: 'actor_unblocked',
  noEventEmitter: 'threat_events_not_published',
} as const;

/**
 * The Nest event (through @nestjs/event-emitter) each detection is published as, once across
 * replicas: `@OnEvent(THREAT_DETECTED_EVENT) page(detection: ThreatDetection) { … }`.
 */
export const THREAT_DETECTED_EVENT = 'nest-kms.threat.detected';
