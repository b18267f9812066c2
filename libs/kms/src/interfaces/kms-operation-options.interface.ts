import type { AadInput } from '../envelope/envelope.interface.js';

export interface EncryptOptions {
  /** Context to bind the envelope to (e.g. a user id, or `{ tenant, field }`); authenticated. */
  aad?: AadInput;
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
}
