import { Column, Entity, PrimaryColumn } from 'typeorm';
import { epochMillis } from '@nest-kms/kms/extension';

/**
 * The head of the audit trail's hash chain: the last sealed record's position and MAC. Sealing
 * locks this row, so one replica at a time extends the chain; verification checks the chain
 * ends where the head says, so records cut from its end are noticed too.
 */
@Entity({ name: 'kms_audit_chain' })
export class AuditChainEntity {
  /** Which trail: `secret-audit`. */
  @PrimaryColumn({ type: 'varchar', length: 32 })
  name: string;

  @Column({ type: 'bigint', transformer: epochMillis })
  seq: number;

  /** The last sealed record's MAC; empty before the first. */
  @Column({ type: 'varchar', length: 64 })
  mac: string;

  /** When the chain was last extended (epoch ms). */
  @Column({ name: 'sealed_at', type: 'bigint', transformer: epochMillis })
  sealedAt: number;
}
