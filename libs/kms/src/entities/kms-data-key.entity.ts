import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { epochMillis } from './epoch-millis.transformer.js';

export type DataKeyStatus = 'active' | 'retired';

/**
 * A data key, wrapped by the master key: the keyring's own (tenant null) or a tenant's. At most
 * one of the keyring's own is active, and one per tenant: the partial unique indexes enforce it.
 */
@Entity({ name: 'kms_data_keys' })
@Index('UQ_kms_data_keys_one_active', ['status'], {
  unique: true,
  where: "status = 'active' AND tenant IS NULL",
})
@Index('UQ_kms_data_keys_one_active_per_tenant', ['tenant'], {
  unique: true,
  where: "status = 'active' AND tenant IS NOT NULL",
})
@Index('IDX_kms_data_keys_tenant', ['tenant'])
export class KmsDataKeyEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  id: string;

  /** base64 of the provider's wrapped form; never the key itself. */
  @Column({ name: 'wrapped_key', type: 'text' })
  wrappedKey: string;

  @Column({ type: 'varchar', length: 16 })
  status: DataKeyStatus;

  /** A tenant's keyed tag (never its name) for a tenant's key; null for the keyring's own. */
  @Column({ type: 'varchar', length: 32, nullable: true })
  tenant?: string | null;

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
