import { Column, Entity, PrimaryColumn } from 'typeorm';
import { epochMillis } from './epoch-millis.transformer.js';

/**
 * A data key (or the blind-index root key) wrapped under an additional master key of the
 * keyring: any of them opens the key when the primary master key cannot be reached. The primary
 * wrap stays on the data key's row. The keyring's additional master keys are the fingerprints
 * found here.
 */
@Entity({ name: 'kms_master_key_wraps' })
export class KmsMasterKeyWrapEntity {
  /** The data key's id, or INDEX_ROOT_KEY_ID. */
  @PrimaryColumn({ name: 'key_id', type: 'varchar', length: 64 })
  keyId: string;

  /** The additional master key it is wrapped under. */
  @PrimaryColumn({ name: 'master_key_fingerprint', type: 'varchar', length: 128 })
  masterKeyFingerprint: string;

  /** base64 of the provider's wrapped form; never the key itself. */
  @Column({ name: 'wrapped_key', type: 'text' })
  wrappedKey: string;

  /** When this wrap was stored (epoch milliseconds). */
  @Column({ name: 'created_at', type: 'bigint', transformer: epochMillis })
  createdAt: number;
}
