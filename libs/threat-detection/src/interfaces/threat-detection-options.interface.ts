import type { ThreatSeverity } from '../rules/threat-finding.interface.js';
import type { ThreatRulesOptions } from '../rules/threat-rules-options.interface.js';

/** The optional response to a detection: refuse the actor for a while, on every replica. */
export interface ThreatResponseOptions {
  /**
   * Block the actor of a detection at this severity or above: its reads of secrets and its
   * decryptions (where it names itself with `actor`) are refused with ActorBlockedError until
   * the block ends or an operator lifts it. Off unless set.
   */
  blockAtSeverity?: ThreatSeverity;
  /** How long a block lasts. @default 900000 (15 minutes) */
  blockDurationMs?: number;
  /** Actors never blocked, whatever is detected (the app's own health checks, a break-glass identity). @default [] */
  neverBlock?: readonly string[];
}

export interface ThreatDetectionModuleOptions {
  /** The rules' thresholds, windows and severities; each rule can be switched off. */
  rules?: ThreatRulesOptions;
  /**
   * How often the detector reads new records of the audit trail (and every replica refreshes
   * the blocked actors). Detection takes up to this long after a record is sealed.
   * @default 5000
   */
  intervalMs?: number;
  /**
   * How long one replica holds the detector's lease without renewing it before another takes
   * over (it restores the saved state and reads on). Longer than intervalMs.
   * @default 30000
   */
  leaseMs?: number;
  /** How often the detector saves its state for the replica that takes over. @default 60000 */
  snapshotIntervalMs?: number;
  /**
   * How often the detector verifies the audit trail's whole hash chain (a deleted or altered
   * record is a detection, `audit-chain-broken`). Verification reads every record: on a trail
   * of millions, keep this long. 0: never (operators still run `nest-kms audit verify`).
   * @default 3600000 (1 hour)
   */
  verifyIntervalMs?: number;
  /**
   * The tag that marks a secret as sensitive (`sensitive-read-by-new-actor`): a secret with this
   * tag, whatever its value but `false`.
   * @default 'sensitive'
   */
  sensitiveTag?: string;
  /** The response to detections; none unless configured. */
  response?: ThreatResponseOptions;
  /** The clock (epoch ms), for tests. @default Date.now */
  clock?: () => number;
}
