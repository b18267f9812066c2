/** One variable to import: the secret to write and the environment variable to read. */
export interface SecretImportEntry {
  secret: string;
  env: string;
}

export interface SecretsImportOptions {
  /**
   * Replace a stored value that differs from the environment's (a new version). Without it a
   * difference is reported in `conflicts` and nothing is written.
   * @default false
   */
  overwrite?: boolean;
  /**
   * Recorded as the actor of every read and write in the secrets audit trail.
   * @default 'nest-kms-config:import'
   */
  actor?: string;
}

/** What importFromEnv did, by secret name. Names only, never values. */
export interface SecretsImportReport {
  /** Stored as the first version of a new secret. */
  created: string[];
  /** Stored as a new version over a different value (only with `overwrite: true`). */
  updated: string[];
  /** The store already holds this value: nothing written. */
  unchanged: string[];
  /** The store holds a different value: nothing written. */
  conflicts: string[];
  /** The environment variable is unset or empty: nothing written. */
  missing: string[];
  /** Refused with an error code (invalid name or value, deleted or expired secret, a value the schema rejects). */
  failed: { name: string; code: string }[];
}
