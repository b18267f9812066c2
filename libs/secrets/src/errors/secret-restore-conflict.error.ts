import { SecretsError } from './secrets.error.js';

/** How many names the message shows; `names` holds them all. */
const SHOWN = 10;

/**
 * A restore would overwrite secrets that this database holds with other content (other
 * versions, envelopes or metadata). It was refused whole. `names` lists them, never values.
 */
export class SecretRestoreConflictError extends SecretsError {
  readonly code = 'SECRET_RESTORE_CONFLICT';
  constructor(readonly names: readonly string[]) {
    const more = names.length > SHOWN ? ` and ${names.length - SHOWN} more` : '';
    super(
      `Restore refused: ${names.length} secret(s) exist here with other content than in the backup: ${names.slice(0, SHOWN).join(', ')}${more}; nothing was restored. Restore into another database, or deleteSecret() and destroySecret() them first if the backup should win`,
    );
  }
}
