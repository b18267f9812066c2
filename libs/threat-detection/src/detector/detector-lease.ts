import type { KmsStorage } from '@nest-kms/kms/extension';
import type { ThreatRulesSnapshot } from '../rules/threat-rules-snapshot.interface.js';

/** The detector's saved state: the rules after the record at `seq`. */
export interface SavedDetectorState {
  readonly snapshot: ThreatRulesSnapshot | undefined;
  readonly seq: number;
}

/**
 * The lease on the one detector that reads the trail at a time (kms_threat_detector), and the
 * state it saves for the next holder. Taking or renewing the lease is one conditional UPDATE:
 * whichever replica's lands while the lease is free or its own wins.
 */
export class DetectorLease {
  constructor(
    private readonly storage: KmsStorage,
    /** This replica, as the lease names it. */
    readonly holder: string,
  ) {}

  /** Takes or renews the lease until `now + leaseMs`; false while another replica holds it. */
  async hold(now: number, leaseMs: number): Promise<boolean> {
    const rows = await this.storage.queryRows(
      "UPDATE kms_threat_detector SET holder = ?, lease_until = ?, updated_at = ? WHERE name = 'default' AND (holder = ? OR holder IS NULL OR lease_until < ?) RETURNING name",
      [this.holder, now + leaseMs, now, this.holder, now],
    );
    return rows.length > 0;
  }

  /** The state the last holder saved. */
  async load(): Promise<SavedDetectorState> {
    const [row] = await this.storage.queryRows(
      "SELECT snapshot, snapshot_seq FROM kms_threat_detector WHERE name = 'default'",
      [],
    );
    const text = row?.snapshot as string | null | undefined;
    return {
      snapshot: text ? (JSON.parse(text) as ThreatRulesSnapshot) : undefined,
      seq: Number(row?.snapshot_seq ?? 0),
    };
  }

  /** Saves the rules' state after the record at `seq`, while this replica holds the lease. */
  async save(snapshot: ThreatRulesSnapshot, seq: number, now: number): Promise<void> {
    await this.storage.queryRows(
      "UPDATE kms_threat_detector SET snapshot = ?, snapshot_seq = ?, updated_at = ? WHERE name = 'default' AND holder = ? RETURNING name",
      [JSON.stringify(snapshot), seq, now, this.holder],
    );
  }

  /** Lets another replica take over at once (at shutdown, after a last save). */
  async release(): Promise<void> {
    await this.storage.queryRows(
      "UPDATE kms_threat_detector SET holder = NULL, lease_until = 0 WHERE name = 'default' AND holder = ? RETURNING name",
      [this.holder],
    );
  }
}
