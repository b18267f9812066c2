import type { ActorBlocklist, KmsStorage } from '@nest-kms/kms/extension';
import type { SecretsAuditTrail } from '@nest-kms/secrets';
import type { ActorBlock } from '../interfaces/threat-detection.interface.js';

/**
 * Blocked actors, shared by every replica through kms_threat_blocks: a block is written there
 * (and recorded in the audit trail), applied on this replica at once, and on the others at their
 * next refresh (every pass of the detector's timer, which runs on every replica).
 */
export class ActorBlocks {
  constructor(
    private readonly storage: KmsStorage,
    private readonly blocklist: ActorBlocklist,
    private readonly trail: SecretsAuditTrail,
  ) {}

  /** Blocks `actor` until `until` (a longer block already there stays). */
  async block(
    actor: string,
    until: number,
    reason: string,
    detectionId: string | null,
    now: number,
  ): Promise<void> {
    await this.storage.queryRows(
      'INSERT INTO kms_threat_blocks (actor, until, reason, detection_id, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (actor) DO UPDATE SET until = excluded.until, reason = excluded.reason, detection_id = excluded.detection_id, created_at = excluded.created_at WHERE kms_threat_blocks.until < excluded.until RETURNING actor',
      [actor, until, reason, detectionId, now],
    );
    this.blocklist.block(actor, until);
    await this.trail.recordResponse('block', actor, reason);
  }

  /** Lifts `actor`'s block on every replica; false when it was not blocked. */
  async unblock(actor: string, now: number): Promise<boolean> {
    const removed = await this.storage.queryRows(
      'DELETE FROM kms_threat_blocks WHERE actor = ? RETURNING actor',
      [actor],
    );
    await this.refresh(now);
    if (removed.length === 0) return false;
    await this.trail.recordResponse('unblock', actor, 'operator');
    return true;
  }

  /** The blocks in force at `now`. */
  async list(now: number): Promise<ActorBlock[]> {
    const rows = await this.storage.queryRows(
      'SELECT actor, until, reason, detection_id, created_at FROM kms_threat_blocks WHERE until > ? ORDER BY actor',
      [now],
    );
    return rows.map((row) => ({
      actor: String(row.actor),
      until: Number(row.until),
      reason: String(row.reason),
      detectionId: (row.detection_id as string | null) ?? null,
      createdAt: Number(row.created_at),
    }));
  }

  /** Makes this replica's blocklist what the table says now. */
  async refresh(now: number): Promise<void> {
    const blocks = await this.list(now);
    this.blocklist.replace(new Map(blocks.map((block) => [block.actor, block.until])));
  }
}
