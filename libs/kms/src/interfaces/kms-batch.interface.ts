import type { AadInput, EnvelopeV1 } from '../envelope/envelope.interface.js';
import type { KmsError } from '../errors/kms.error.js';
import type { DecryptOptions, EncryptOptions } from './kms-operation-options.interface.js';

/** An item of a batch that succeeded: its value. */
export interface BatchSuccess<T> {
  readonly ok: true;
  readonly value: T;
}

/** An item of a batch that failed: the typed error this item alone met (its message quotes no value). */
export interface BatchFailure {
  readonly ok: false;
  readonly error: KmsError;
}

/** One item's outcome in a batch, at the item's index: `ok` tells which. */
export type BatchResult<T> = BatchSuccess<T> | BatchFailure;

/** A plaintext of encryptMany with its own AAD (instead of the call's `aad`). */
export interface BatchPlaintext {
  readonly plaintext: string | Buffer;
  readonly aad?: AadInput;
}

/** What encryptMany takes per item: a plaintext (bound to the call's `aad`), or one with its own. */
export type BatchPlaintextItem = string | Buffer | BatchPlaintext;

/** An envelope of decryptMany with its own expected AAD (instead of the call's `aad`). */
export interface BatchEnvelope {
  readonly envelope: EnvelopeV1 | string;
  readonly aad?: AadInput;
}

/** What decryptMany takes per item: an envelope (checked against the call's `aad`), or one with its own. */
export type BatchEnvelopeItem = EnvelopeV1 | string | BatchEnvelope;

/** Options of encryptMany: encryptData's, for every item that does not carry its own AAD. */
export interface EncryptManyOptions extends EncryptOptions {
  /** The envelopes' form: the design document's object (default) or the compact string. */
  form?: 'object' | 'compact';
}

/** Options of decryptMany: decryptData's, `aad` for every item that does not carry its own. */
export type DecryptManyOptions = DecryptOptions;
