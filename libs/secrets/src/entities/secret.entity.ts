import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { epochMillis } from '@nest-kms/kms/extension';

export type RotationPolicy = 'manual' | 'auto';

/**
 * One row per secret name: its metadata and, denormalised, its current version's envelope so a
 * cache miss is one primary-key read. Times are epoch milliseconds.
 */
@Entity({ name: 'kms_secrets' })
// Live names in byte order, for pages and prefixes (COLLATE "C" on Postgres: migration 1768089600000).
@Index('IDX_kms_secrets_live_name', ['name'], { where: '"deleted_at" IS NULL' })
export class SecretEntity {
  @PrimaryColumn({ type: 'varchar', length: 194 })
  name: string;

  @Column({ name: 'current_version', type: 'integer' })
  currentVersion: number;

  /** Compact envelope of the current version, bound to (name, version). */
  @Column({ name: 'current_envelope', type: 'text' })
  currentEnvelope: string;

  @Column({ name: 'current_key_id', type: 'varchar', length: 64 })
  currentKeyId: string;

  @Column({ name: 'rotation_policy', type: 'varchar', length: 8 })
  rotationPolicy: RotationPolicy;

  @Column({ name: 'ttl_days', type: 'integer', nullable: true })
  ttlDays: number | null;

  /** JSON object of string tags. */
  @Column({ type: 'text' })
  tags: string;

  @Column({ type: 'varchar', length: 1024, nullable: true })
  description: string | null;

  @Column({ name: 'created_at', type: 'bigint', transformer: epochMillis })
  createdAt: number;

  @Column({ name: 'updated_at', type: 'bigint', transformer: epochMillis })
  updatedAt: number;

  @Column({ name: 'expires_at', type: 'bigint', nullable: true, transformer: epochMillis })
  expiresAt: number | null;

  @Column({ name: 'deleted_at', type: 'bigint', nullable: true, transformer: epochMillis })
  deletedAt: number | null;

  @Column({ name: 'recoverable_until', type: 'bigint', nullable: true, transformer: epochMillis })
  recoverableUntil: number | null;

  /** When a replica's expiry sweep logged secret_expired for the current version; null until then. */
  @Column({ name: 'expiry_reported_at', type: 'bigint', nullable: true, transformer: epochMillis })
  expiryReportedAt: number | null;

  /** Until when one replica holds the secret to rotate it automatically; null when free. */
  @Column({
    name: 'rotation_claimed_until',
    type: 'bigint',
    nullable: true,
    transformer: epochMillis,
  })
  rotationClaimedUntil: number | null;
}
