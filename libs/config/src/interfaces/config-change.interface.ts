import type { SecretChange } from '@nest-kms/secrets';
import type { ConfigSource } from './config-status.interface.js';

/** A field took a new value after its secret changed. Names and sources only, never the value. */
export interface ConfigFieldChange {
  field: string;
  /** The secret whose change triggered the re-read. */
  secret: string;
  /** The secret change: created, rotated, updated, destroyed, restored, ... */
  reason: SecretChange['reason'];
  source: ConfigSource;
  previousSource: ConfigSource;
  /** The secret or environment variable that now serves the field. */
  key: string | null;
  at: Date;
}
