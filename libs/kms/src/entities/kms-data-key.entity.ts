import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { epochMillis } from './epoch-millis.transformer.js';

export type DataKeyStatus = 'active' | 'retired';

/** A data key, wrapped by the master key. At most one row is active: the partial unique index enforces it. */
@Entity({ name: 'kms_data_keys' })
@Index('UQ_kms_data_keys_one_active', ['status'], { unique: true, where: "status = 'active'" })
export class KmsDataKeyEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  id: string;

  /** base64 of the provider's wrapped form; never the key itself. */
  @Column({ name: 'wrapped_key', type: 'text' })
  wrappedKey: string;

  @Column({ type: 'varchar', length: 16 })
  status: DataKeyStatus;

  @Column({ name: 'master_key_fingerprint', type: 'varchar', length: 128 })
  masterKeyFingerprint: string;

  @Column({ name: 'created_at', type: 'bigint', transformer: epochMillis })
  createdAt: number;

  @Column({ name: 'retired_at', type: 'bigint', nullable: true, transformer: epochMillis })
  retiredAt: number | null;

  /**
   * Encryptions sealed under this key, as of the replicas' last flush (they count in batches).
   * pg returns bigint as a string: read it with Number().
   */
  @Column({ type: 'bigint', default: 0 })
  encryptions?: number | string;
}
