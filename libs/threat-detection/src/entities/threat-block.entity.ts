import { Column, Entity, PrimaryColumn } from 'typeorm';
import { epochMillis } from '@nest-kms/kms/extension';

/** An actor refused until `until`, on every replica (each reads this table every pass). */
@Entity({ name: 'kms_threat_blocks' })
export class ThreatBlockEntity {
  @PrimaryColumn({ type: 'varchar', length: 128 })
  actor: string;

  @Column({ type: 'bigint', transformer: epochMillis })
  until: number;

  /** The rule that flagged the actor, or `operator`. */
  @Column({ type: 'varchar', length: 64 })
  reason: string;

  @Column({ name: 'detection_id', type: 'varchar', length: 64, nullable: true })
  detectionId: string | null;

  @Column({ name: 'created_at', type: 'bigint', transformer: epochMillis })
  createdAt: number;
}
