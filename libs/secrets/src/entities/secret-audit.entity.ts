import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { epochMillis } from '@nest-kms/kms/extension';

/** Secrets operations, then the KMS's security events and threat detection's responses. */
export type AuditAction =
  | 'read'
  | 'write'
  | 'rotate'
  | 'delete'
  | 'recover'
  | 'destroy'
  | 'list'
  | 'backup'
  | 'restore'
  // The KMS's security events:
  | 'decrypt' // a failed decryption (only failures are recorded): errorCode, keyId, actor
  | 'destroy-key' // destroyDataKey: success, or failure KMS_DATA_KEY_IN_USE
  | 'destroy-tenant' // destroyTenant (success): keyId is the tenant id
  | 'rotate-master' // master-key rotation (success): keyId is the new fingerprint
  | 'remove-master' // an additional master key removed (success)
  | 'open-keyring' // failure KMS_MASTER_KEY_MISMATCH: a start with the wrong master key
  // Threat detection's responses (actor = the actor blocked or unblocked):
  | 'block'
  | 'unblock';
export type AuditOutcome = 'success' | 'failure';

/**
 * One audit record per secrets operation (and per KMS security event). Never holds a value.
 * Each record is sealed into the trail's hash chain shortly after it is written (`chainSeq`,
 * `chainMac`), so a deleted or altered record breaks the chain.
 */
@Entity({ name: 'kms_secret_audit' })
@Index('IDX_kms_secret_audit_name_at', ['secretName', 'at'])
@Index('UQ_kms_secret_audit_record_id', ['recordId'], { unique: true })
@Index('UQ_kms_secret_audit_chain_seq', ['chainSeq'], { unique: true })
@Index('IDX_kms_secret_audit_unsealed', ['id'], { where: 'chain_seq IS NULL' })
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

  /**
   * The data key (a failed decryption, a destroyed key) or master-key fingerprint (a master-key
   * event) a KMS security event is about; null on secrets operations.
   */
  @Column({ name: 'key_id', type: 'varchar', length: 64, nullable: true })
  keyId: string | null;

  /** The record's position in the hash chain; null until it is sealed. */
  @Column({ name: 'chain_seq', type: 'bigint', nullable: true, transformer: epochMillis })
  chainSeq: number | null;

  /** HMAC of the previous record's MAC and this record (base64url); null until sealed. */
  @Column({ name: 'chain_mac', type: 'varchar', length: 64, nullable: true })
  chainMac: string | null;
}
