import { Column, Entity, PrimaryColumn } from 'typeorm';
import { epochMillis } from '@nest-kms/kms/extension';

/**
 * The detector's lease and saved state. One replica at a time holds the lease and reads the
 * trail; it saves the rules' state with the trail position it reached, so the replica that
 * takes over after it restores that and reads on from there.
 */
@Entity({ name: 'kms_threat_detector' })
export class ThreatDetectorStateEntity {
  @PrimaryColumn({ type: 'varchar', length: 32 })
  name: string;

  /** The replica holding the lease; null when released. */
  @Column({ type: 'varchar', length: 64, nullable: true })
  holder: string | null;

  @Column({ name: 'lease_until', type: 'bigint', transformer: epochMillis })
  leaseUntil: number;

  /** The rules' state (JSON) after the record at `snapshotSeq`; null before the first save. */
  @Column({ type: 'text', nullable: true })
  snapshot: string | null;

  @Column({ name: 'snapshot_seq', type: 'bigint', transformer: epochMillis })
  snapshotSeq: number;

  @Column({ name: 'updated_at', type: 'bigint', transformer: epochMillis })
  updatedAt: number;
}
