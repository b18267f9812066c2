import { createHash } from 'node:crypto';
import type { KmsStorage } from '@nest-kms/kms/extension';
import type {
  ListDetectionsOptions,
  ThreatDetection,
  ThreatDetectionRule,
} from '../interfaces/threat-detection.interface.js';
import type { ThreatSeverity } from '../rules/threat-finding.interface.js';

/** What the detector found, before it is recorded. */
export type Finding = Omit<ThreatDetection, 'id' | 'recordedAt'>;

const COLUMNS =
  'id, rule, severity, actor, subject, first_at, detected_at, seq, counts, recorded_at';

/** The detections table: recorded once each, whichever replica finds them and however often. */
export class DetectionStore {
  constructor(private readonly storage: KmsStorage) {}

  /**
   * Records `findings` at `now`; returns those that were not recorded before (the ones to
   * announce). A finding found again (replayed after a takeover) is skipped.
   */
  async record(findings: readonly Finding[], now: number): Promise<ThreatDetection[]> {
    const added: ThreatDetection[] = [];
    for (const finding of findings) {
      const detection: ThreatDetection = { ...finding, id: detectionId(finding), recordedAt: now };
      const inserted = await this.storage.queryRows(
        `INSERT INTO kms_threat_detections (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING RETURNING id`,
        [
          detection.id,
          detection.rule,
          detection.severity,
          detection.actor,
          detection.subject,
          detection.firstAt,
          detection.detectedAt,
          detection.seq,
          JSON.stringify(detection.counts),
          detection.recordedAt,
        ],
      );
      if (inserted.length > 0) added.push(detection);
    }
    return added;
  }

  /** Recorded detections, newest first. */
  async list(options: ListDetectionsOptions = {}): Promise<ThreatDetection[]> {
    const limit = Math.max(1, Math.min(options.limit ?? 50, 1_000));
    const rows = await this.storage.queryRows(
      `SELECT ${COLUMNS} FROM kms_threat_detections WHERE recorded_at >= ? ORDER BY recorded_at DESC, seq DESC LIMIT ${limit}`,
      [options.since ?? 0],
    );
    return rows.map((row) => ({
      id: String(row.id),
      rule: row.rule as ThreatDetectionRule,
      severity: row.severity as ThreatSeverity,
      actor: (row.actor as string | null) ?? null,
      subject: (row.subject as string | null) ?? null,
      firstAt: Number(row.first_at),
      detectedAt: Number(row.detected_at),
      seq: Number(row.seq),
      counts: JSON.parse(String(row.counts)) as Record<string, number>,
      recordedAt: Number(row.recorded_at),
    }));
  }
}

/** The same detection, the same id: rule, trail position, actor and subject. */
function detectionId(finding: Finding): string {
  return createHash('sha256')
    .update(JSON.stringify([finding.rule, finding.seq, finding.actor, finding.subject]))
    .digest('hex');
}
