import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { epochMillis } from '@nest-kms/kms/extension';

export type AuditAction =
  'read' | 'write' | 'rotate' | 'delete' | 'recover' | 'destroy' | 'list' | 'backup' | 'restore';
export type AuditOutcome = 'success' | 'failure';

/** One audit record per secrets operation. Never holds a value. */
@Entity({ name: 'kms_secret_audit' })
@Index('IDX_kms_secret_audit_name_at', ['secretName', 'at'])
@Index('UQ_kms_secret_audit_record_id', ['recordId'], { unique: true })
export class SecretAuditEntity {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id: number;

  /**
   * A UUID given to the record on its first write, so that writing it again (a retry of a write
   * that committed after all) adds nothing. Null on records written before 0.2.0 had it.
   */
  @Column({ name: 'record_id', type: 'varchar', length: 36, nullable: true })
  recordId: string | null;

  @Column({ type: 'bigint', transformer: epochMillis })
  at: number;

  @Column({ type: 'varchar', length: 16 })
  action: AuditAction;

  @Column({ name: 'secret_name', type: 'varchar', length: 128, nullable: true })
  secretName: string | null;

  @Column({ type: 'integer', nullable: true })
  version: number | null;

  @Column({ type: 'varchar', length: 128, nullable: true })
  actor: string | null;

  @Column({ type: 'varchar', length: 8 })
  outcome: AuditOutcome;

  @Column({ name: 'error_code', type: 'varchar', length: 64, nullable: true })
  errorCode: string | null;
}
