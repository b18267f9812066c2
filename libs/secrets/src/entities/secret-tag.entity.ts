import { Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * The tags of a secret as listSecrets filters them: for each tag `key: value`, one row `key` and
 * one row `key=value`, so that either form of filter is one indexed equality. Kept in the
 * transaction of every write that sets tags; the secret's `tags` column stays the source a
 * listing returns. On Postgres the index orders names by bytes (migration 1768089600000).
 */
@Entity({ name: 'kms_secret_tags' })
@Index('IDX_kms_secret_tags_tag_name', ['tag', 'secretName'])
export class SecretTagEntity {
  @PrimaryColumn({ name: 'secret_name', type: 'varchar', length: 194 })
  secretName: string;

  /** `key` or `key=value` (a key never holds `=`). */
  @PrimaryColumn({ type: 'varchar', length: 385 })
  tag: string;
}
