import type { AadInput } from '../envelope/envelope.interface.js';

export interface EncryptOptions {
  /** Context to bind the envelope to (e.g. a user id, or `{ tenant, field }`); authenticated. */
  aad?: AadInput;
  /**
   * Seal under this tenant's data keys (its first is made on first use) instead of the
   * keyring's own: only decryption with the same `tenant` opens it, and destroyTenant makes it
   * unreadable for good. 1 to 64 letters, digits and `. _ : @ -` (InvalidTenantError).
   */
  tenant?: string;
}

export interface DecryptOptions {
  /**
   * The context the caller expects. When given, an envelope bound to anything else (or to
   * nothing) is rejected with AadMismatchError. When omitted, the envelope's own (authenticated)
   * AAD is accepted as it is.
   */
  aad?: AadInput;
  /** Return the plaintext as a UTF-8 string (default) or a Buffer. */
  as?: 'string' | 'buffer';
  /**
   * Who is decrypting (a service, a user id): a failure is reported with it (the
   * `decryption_failed` log event, the audit trail, threat detection), and a blocked actor is
   * refused with ActorBlockedError. At most 128 characters.
   */
  actor?: string;
  /**
   * The tenant the envelope must belong to: an envelope under another tenant's keys, or under
   * the keyring's own, is refused with TenantMismatchError (and a tenant's envelope without it).
   */
  tenant?: string;
}
