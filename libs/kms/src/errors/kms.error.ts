/**
 * Base of every error nest-kms throws. `code` is stable across versions: match on it, not on
 * the message. Messages and fields never carry plaintext or key material.
 */
export abstract class KmsError extends Error {
  abstract readonly code: string;
  override readonly name: string = this.constructor.name;
}
