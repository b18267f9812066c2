import type { KmsStorage } from '@nest-kms/kms/extension';

/** A live secret whose current version expired, reported by this instance. */
export interface ExpiredSecret {
  name: string;
  version: number;
  expiresAt: number;
}

/** A live 'auto' secret, with what decides whether it is due. */
export interface RotationCandidate {
  name: string;
  version: number;
  updatedAt: number;
  ttlDays: number | null;
  claimedUntil: number | null;
}

// One statement each, so that whichever replica's UPDATE commits first wins the row: the other
// (Postgres re-checks the WHERE on the committed row; SQLite runs one at a time) matches nothing.
const CLAIM_EXPIRED = `UPDATE kms_secrets SET expiry_reported_at = ?
  WHERE expiry_reported_at IS NULL AND name IN (
    SELECT name FROM kms_secrets
    WHERE deleted_at IS NULL AND expiry_reported_at IS NULL AND expires_at IS NOT NULL AND expires_at <= ?
    ORDER BY name LIMIT ?)
  RETURNING name, current_version, expires_at`;
const SELECT_AUTO = `SELECT name, current_version, updated_at, ttl_days, rotation_claimed_until
  FROM kms_secrets WHERE deleted_at IS NULL AND rotation_policy = 'auto' ORDER BY name`;
const CLAIM_ROTATION = `UPDATE kms_secrets SET rotation_claimed_until = ?
  WHERE name = ? AND current_version = ? AND deleted_at IS NULL AND rotation_policy = 'auto'
    AND (rotation_claimed_until IS NULL OR rotation_claimed_until <= ?)
  RETURNING name`;

const toNumber = (value: unknown): number | null => (value === null ? null : Number(value));

/** The lifecycle job's SQL on kms_secrets: claims that make each step happen on one replica. */
export class LifecycleStore {
  constructor(private readonly storage: KmsStorage) {}

  /** Marks up to `limit` expired, unreported live secrets as reported; returns those this call marked. */
  async claimExpired(now: number, limit: number): Promise<ExpiredSecret[]> {
    const rows = await this.rows(CLAIM_EXPIRED, [now, now, limit]);
    return rows
      .map((row) => ({
        name: row.name as string,
        version: Number(row.current_version),
        expiresAt: Number(row.expires_at),
      }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async rotationCandidates(): Promise<RotationCandidate[]> {
    const rows = await this.rows(SELECT_AUTO, []);
    return rows.map((row) => ({
      name: row.name as string,
      version: Number(row.current_version),
      updatedAt: Number(row.updated_at),
      ttlDays: toNumber(row.ttl_days),
      claimedUntil: toNumber(row.rotation_claimed_until),
    }));
  }

  /**
   * Takes the rotation lease of `name` until `until`, if it is free at `now` and the secret is
   * still live, 'auto' and at `version`. True when this call took it.
   */
  async claimRotation(name: string, version: number, now: number, until: number): Promise<boolean> {
    const rows = await this.rows(CLAIM_ROTATION, [until, name, version, now]);
    return rows.length === 1;
  }

  private rows(sql: string, parameters: unknown[]): Promise<Record<string, unknown>[]> {
    return this.storage.queryRows(sql, parameters);
  }
}
