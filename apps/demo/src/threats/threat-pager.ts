import { Injectable, Logger } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { THREAT_DETECTED_EVENT, type ThreatDetection } from '@nest-kms/threat-detection';

/**
 * Where an application pages its on-call about a detection (here a log line a log pipeline
 * can alert on). The detection is announced once across replicas; it carries no value.
 */
@Injectable()
export class ThreatPager {
  private readonly logger = new Logger(ThreatPager.name);

  @OnEvent(THREAT_DETECTED_EVENT)
  page(detection: ThreatDetection): void {
    this.logger.warn({
      event: 'threat_paged',
      detectionId: detection.id,
      rule: detection.rule,
      severity: detection.severity,
      actor: detection.actor,
      subject: detection.subject,
    });
  }
}
