import type { ENVELOPE_PURPOSES } from './envelope.constants.js';

/**
 * Envelope format v1 (the design document's shape). Binary fields are standard base64.
 * Every field is authenticated: see docs/envelope-format.md.
 */
export interface EnvelopeV1 {
  readonly v: 1;
  readonly alg: 'aes-256-gcm';
  /** Id of the data key that encrypted this envelope. */
  readonly keyId: string;
  /** 12-byte IV, base64. */
  readonly iv: string;
  /** 16-byte GCM tag, base64. */
  readonly tag: string;
  /** Ciphertext, base64 (same length as the plaintext). */
  readonly ciphertext: string;
  /** The caller's context, canonically encoded then base64; absent when none was given. */
  readonly aad?: string;
  /** Milliseconds since the Unix epoch at encryption. */
  readonly timestamp: number;
}

/** Context an envelope is bound to: a string (e.g. a user id) or a flat map of strings. */
export type AadInput = string | Readonly<Record<string, string>>;

/** An envelope after validation, binary fields decoded. Internal to the codec and the service. */
export interface ParsedEnvelope {
  /** The store it was sealed for (format v2); undefined for the public API's format v1. */
  readonly purpose: EnvelopePurpose | undefined;
  readonly keyId: string;
  readonly timestamp: number;
  readonly iv: Buffer;
  readonly tag: Buffer;
  readonly ciphertext: Buffer;
  readonly aad: Buffer | undefined;
}

/** A store of nest-kms's own whose envelopes carry their purpose (format v2, compact form only). */
export type EnvelopePurpose = (typeof ENVELOPE_PURPOSES)[number];
