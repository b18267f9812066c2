import { Column, Entity, PrimaryColumn } from 'typeorm';
import { epochMillis } from './epoch-millis.transformer.js';

/** Id of the keyring row: one keyring per database. */
export const KEYRING_ID = 'default';

/** One row per keyring: the fingerprint of the master key that wraps its data keys. */
@Entity({ name: 'kms_keyring' })
export class KmsKeyringEntity {
  @PrimaryColumn({ type: 'varchar', length: 32 })
  id: string;

  @Column({ name: 'master_key_fingerprint', type: 'varchar', length: 128 })
  masterKeyFingerprint: string;

  @Column({ name: 'created_at', type: 'bigint', transformer: epochMillis })
  createdAt: number;

  @Column({ name: 'updated_at', type: 'bigint', transformer: epochMillis })
  updatedAt: number;

  /**
   * Stores (comma-separated purposes, sorted) that refuse values in envelope format v1: set by
   * re-encryption once none is left, and at creation (a new keyring has none).
   */
  @Column({ name: 'legacy_refused_purposes', type: 'varchar', length: 64, default: '' })
  legacyRefusedPurposes?: string;

  /**
   * base64 of the blind-index root key wrapped under the keyring's master key (bound to the id
   * INDEX_ROOT_KEY_ID); null until created. Never the key itself.
   */
  @Column({ name: 'index_root_key', type: 'text', nullable: true })
  indexRootKey?: string | null;
}
