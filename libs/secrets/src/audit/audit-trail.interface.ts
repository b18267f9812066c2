import type { AuditAction, AuditOutcome } from '../entities/secret-audit.entity.js';

/** One sealed record of the audit trail (never a value). */
export interface AuditTrailRecord {
  /** Its position in the hash chain. */
  readonly seq: number;
  /**
   * When the operation happened (epoch ms, the writing replica's clock). Replicas buffer and
   * flush their records separately, so `at` only roughly increases with `seq` (seconds out of
   * order; after a database outage, minutes).
   */
  readonly at: number;
  readonly action: AuditAction;
  readonly secretName: string | null;
  readonly version: number | null;
  /** Who asked (a service name, a user id); null when the caller did not say. */
  readonly actor: string | null;
  readonly outcome: AuditOutcome;
  /** The error's stable code on a failure (SECRET_NOT_FOUND, KMS_DECRYPTION_FAILED, …). */
  readonly errorCode: string | null;
  /**
   * What a KMS security event is about: the data key (decrypt, destroy-key), the master-key
   * fingerprint (rotate-master, remove-master, open-keyring) or the tenant (destroy-tenant).
   */
  readonly keyId: string | null;
}

/** What verification found wrong, over a range of chain positions. */
export interface AuditTrailProblem {
  /**
   * `missing`: no record holds these positions (deleted). `altered`: the record's MAC does not
   * match its fields. `truncated`: the head says the chain goes further than its records.
   * `head`: the head's MAC is not the last record's.
   */
  readonly kind: 'missing' | 'altered' | 'truncated' | 'head';
  readonly fromSeq: number;
  readonly toSeq: number;
}

/** The result of SecretsService.verifyAuditTrail(). */
export interface AuditTrailVerification {
  /** True when the chain is whole: no problem at all. */
  readonly intact: boolean;
  readonly verifiedRecords: number;
  /** The head's position: the last sealed record. */
  readonly lastSeq: number;
  readonly problemCount: number;
  /** The first 100 problems, in chain order. */
  readonly problems: readonly AuditTrailProblem[];
  /** Records written but not sealed yet (sealing runs every `audit.sealIntervalMs`). */
  readonly unsealedRecords: number;
  readonly oldestUnsealedAt: number | null;
}
