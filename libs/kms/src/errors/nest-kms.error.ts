/**
 * Root of every error the nest-kms libraries throw (KmsError, SecretsError, ConfigError): one
 * `instanceof NestKmsError` tells them from a driver's or the application's. `code` is stable
 * across versions: match on it, not on the message. Messages and fields never carry plaintext,
 * secret values or key material.
 */
export abstract class NestKmsError extends Error {
  abstract readonly code: string;
  override readonly name: string = this.constructor.name;
}
