import { Counter } from 'prom-client';
import type { KmsMetrics } from '@nest-kms/kms';

/** Threat detection's metrics, in the KMS registry (KmsMetrics.registry). */
export class ThreatMetrics {
  /** Each detection counted once, by the replica that recorded it. */
  readonly detections: Counter<'rule' | 'severity'>;

  constructor(kms: KmsMetrics) {
    this.detections = new Counter({
      name: 'kms_threats_detected_total',
      help: 'Threat detections recorded (once across replicas), by rule and severity',
      labelNames: ['rule', 'severity'] as const,
      registers: [kms.registry],
    });
  }
}
