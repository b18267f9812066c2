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
  /**
   * Where each row holds a copy of another registered column's envelope (the secrets store's
   * `current_envelope`, its current version's): re-encryption sets it from that row in SQL once
   * that row is under the active key, and rewraps only what it could not copy.
   */
  readonly copyOf?: {
    /** The source's entity; its column must be registered too, for the same purpose. */
    readonly entity: Function;
    /** The source's envelope property. */
    readonly envelope: string;
    /**
     * This entity's property → the source entity's property, equal on a row and its original;
     * together they name at most one source row (e.g. its primary key).
     */
    readonly join: Readonly<Record<string, string>>;
  };
}
