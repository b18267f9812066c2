/**
 * An application's column of compact envelopes (`kms1.…`, from `encryptToString()`), registered
 * with `KmsDatabase.registerEnvelopeColumn()`.
 */
export interface KmsEnvelopeColumn {
  /** The entity (in the KMS DataSource) whose table holds the column. */
  readonly entity: Function;
  /** Property holding the envelope string (or null, or a non-envelope value that is skipped). */
  readonly envelope: string;
  /**
   * Property kept equal to the envelope's key id, where the table has one: re-encryption then
   * finds the rows by index instead of a `LIKE` on the envelope.
   * @default none
   */
  readonly keyId?: string;
}
