import type { AuditChain } from './audit-chain.js';
import type { SecretsAudit } from './secrets-audit.js';
import type { AuditSealing } from './audit-sealing.js';
import type { AuditTrailRecord, AuditTrailVerification } from './audit-trail.interface.js';

/** Most records one read() returns. */
export const AUDIT_TRAIL_READ_MAX = 1_000;

/**
 * The audit trail as auditors and threat detection see it: sealed records in chain order, and
 * the chain's verification. Inject it beside SecretsService.
 */
export class SecretsAuditTrail {
  constructor(
    private readonly chain: AuditChain,
    private readonly sealing: AuditSealing,
    private readonly audit: SecretsAudit,
  ) {}

  /**
   * Records a response to an actor in the trail: `block` (refused for a while, `reason` the
   * rule that flagged it or `operator`) or `unblock`.
   */
  async recordResponse(action: 'block' | 'unblock', actor: string, reason: string): Promise<void> {
    await this.audit.record({ action, actor, outcome: 'success', errorCode: reason });
  }

  /**
   * Up to `limit` (at most 1,000) sealed records after chain position `afterSeq`, in chain
   * order. Records are sealed every `audit.sealIntervalMs` after they are written.
   */
  read(afterSeq: number, limit = AUDIT_TRAIL_READ_MAX): Promise<AuditTrailRecord[]> {
    return this.chain.read(afterSeq, Math.max(1, Math.min(limit, AUDIT_TRAIL_READ_MAX)));
  }

  /**
   * Recomputes the chain from its first record: `intact` is false when a record was deleted
   * or altered, or records were cut from its end; `problems` says where.
   */
  verify(): Promise<AuditTrailVerification> {
    return this.chain.verify();
  }

  /**
   * Writes this replica's buffered records and seals every record written so far, now rather
   * than at the next `audit.sealIntervalMs`; returns how many. In every region: each keeps and
   * seals the trail of what was done there (docs/multi-region.md).
   */
  seal(): Promise<number> {
    return this.sealing.run();
  }
}
