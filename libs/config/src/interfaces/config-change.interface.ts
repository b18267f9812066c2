import type { SecretChange } from '@nest-kms/secrets';
import type { ConfigSource } from './config-status.interface.js';

/**
 * Why a field was read again: its secret changed (created, rotated, updated, destroyed,
 * restored, ...), or `refreshed`, a caller's credentials were refused and
 * `withFreshValueOnAuthFailure` read the store itself.
 */
export type ConfigChangeReason = SecretChange['reason'] | 'refreshed';

/** A field took a new value after its secret changed. Names and sources only, never the value. */
export interface ConfigFieldChange {
  field: string;
  /** The secret whose change triggered the re-read. */
  secret: string;
  /** Why the field was read again. */
  reason: ConfigChangeReason;
  source: ConfigSource;
  previousSource: ConfigSource;
  /** The secret or environment variable that now serves the field. */
  key: string | null;
  at: Date;
}
