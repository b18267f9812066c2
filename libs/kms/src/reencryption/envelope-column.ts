import type { EnvelopePurpose } from '../envelope/envelope.interface.js';

/**
 * A column holding compact envelopes, registered so that re-encryption can move its values to
 * the active data key and destroying a key can count what still uses it.
 */
export interface EnvelopeColumn {
  /** The entity (in the KMS DataSource) whose table holds the column. */
  readonly entity: Function;
  /** Property holding the envelope string (or null, or a non-envelope value that is skipped). */
  readonly envelope: string;
  /** Property kept equal to the envelope's key id, where the table has one (indexed lookups). */
  readonly keyId?: string;
  /**
   * The nest-kms store the column belongs to: its envelopes are format v2 (`kms2.<purpose>.…`).
   * Absent for an application's own column of public-API envelopes (`kms1.…`).
   */
  readonly purpose?: EnvelopePurpose;
}
