/** Structured log event names of @nest-kms/config. No event ever carries a value. */
export const CONFIG_EVENTS = {
  /** Every field resolved and validated (`fields`, `sources`, `durationMs`). */
  loaded: 'config_loaded',
  /** Start-up refused (`problems`: field, kind, constraint names). */
  invalid: 'config_invalid',
  /** A secret field was served from the environment (migration step 5: store it). */
  secretFromEnv: 'config_secret_from_env',
  /** A secret field was served from its class default. */
  secretFromDefault: 'config_secret_from_default',
  /** A secret field is served from the store while its environment variable is still set (step 7). */
  envStillSet: 'config_env_still_set',
  /** A field took a new value after its secret changed (`field`, `source`, `key`). */
  fieldChanged: 'config_field_changed',
  /** A changed secret was refused (unreadable, unconvertible or invalid); the old value stays. */
  fieldRejected: 'config_field_rejected',
  /** importFromEnv() finished (names per outcome). */
  secretsImported: 'config_secrets_imported',
} as const;

/** What getStatus(), toJSON(), inspect and error texts show instead of a sensitive value. */
export const MASK = '****';
