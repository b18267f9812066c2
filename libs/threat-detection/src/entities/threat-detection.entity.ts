import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { epochMillis } from '@nest-kms/kms/extension';

/**
 * One detection, shared by every replica. Its id is derived from what was detected (rule,
 * position in the trail, actor, subject), so a detector that takes over and replays part of
 * the trail records nothing twice and announces nothing twice.
 */
@Entity({ name: 'kms_threat_detections' })
@Index('IDX_kms_threat_detections_recorded_at', ['recordedAt'])
export class ThreatDetectionEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  id: string;

  @Column({ type: 'varchar', length: 64 })
  rule: string;

  @Column({ type: 'varchar', length: 8 })
  severity: string;

  @Column({ type: 'varchar', length: 128, nullable: true })
  actor: string | null;

  /** `key:<id>`, `secret:<name>`, `master-key:<fingerprint>`, `audit-trail` or null. */
  @Column({ type: 'varchar', length: 200, nullable: true })
  subject: string | null;

  @Column({ name: 'first_at', type: 'bigint', transformer: epochMillis })
  firstAt: number;

  @Column({ name: 'detected_at', type: 'bigint', transformer: epochMillis })
  detectedAt: number;

  /** The audit trail position of the record that crossed the threshold. */
  @Column({ type: 'bigint', transformer: epochMillis })
  seq: number;

  /** The window counts, JSON: numbers only. */
  @Column({ type: 'text' })
  counts: string;

  /** When the detector recorded it (epoch ms, the detector's clock). */
  @Column({ name: 'recorded_at', type: 'bigint', transformer: epochMillis })
  recordedAt: number;
}
