import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { epochMillis } from '@nest-kms/kms/extension';

/** Every version of every secret, current included; values only as envelopes. */
@Entity({ name: 'kms_secret_versions' })
@Index('IDX_kms_secret_versions_key_id', ['keyId'])
export class SecretVersionEntity {
  @PrimaryColumn({ name: 'secret_name', type: 'varchar', length: 194 })
  secretName: string;

  @PrimaryColumn({ type: 'integer' })
  version: number;

  @Column({ type: 'text' })
  envelope: string;

  /** The data key of the envelope: what re-encryption and key destruction look for. */
  @Column({ name: 'key_id', type: 'varchar', length: 64 })
  keyId: string;

  @Column({ name: 'created_at', type: 'bigint', transformer: epochMillis })
  createdAt: number;

  @Column({ name: 'expires_at', type: 'bigint', nullable: true, transformer: epochMillis })
  expiresAt: number | null;
}
