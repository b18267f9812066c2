import type { KmsStatus, NestKmsError } from '@nest-kms/kms';
import type { RotationPolicy } from '../entities/secret.entity.js';

export interface ActorOptions {
  /** Who asks (a user or service id), recorded in the audit trail. */
  actor?: string;
}

export interface SetSecretOptions extends ActorOptions {
  /** @default 'manual' (or the secret's current policy) */
  rotationPolicy?: RotationPolicy;
  /** Days until each new version expires; null for never. @default the secret's current setting, else never */
  ttlDays?: number | null;
  /** Flat string tags; replace the current tags when given. */
  tags?: Record<string, string>;
  description?: string | null;
}

export interface RotateSecretOptions extends ActorOptions {
  /**
   * Rotate only if the secret is still at this version: for a caller that made the new value
   * from the current one (read with its version from listSecretVersions() or SecretMetadata) and
   * must not overwrite a rotation made meanwhile. Otherwise SecretStateError
   * (`SECRET_INVALID_STATE`), nothing written, a failure in the audit trail.
   * @default any version
   */
  expectedVersion?: number;
}

/** Internal: how the lifecycle job's rotation writes (not part of the public API). */
export interface GuardedRotateOptions extends RotateSecretOptions {
  /** Logged with secret_rotated, e.g. 'auto'. */
  reason?: string;
}

export interface GetSecretOptions extends ActorOptions {
  /** An older version instead of the current one. */
  version?: number;
}

/** Which live secrets listSecrets() and countSecrets() take. */
export interface SecretsFilter {
  /** `key` (has the tag) or `key=value` (has it with that value). */
  tag?: string;
  /** Only names starting with this, e.g. `payments/` (the beginning of a valid name). */
  prefix?: string;
}

export interface ListSecretsOptions extends SecretsFilter, ActorOptions {
  /** Only names after this one, in byte order: a page's `nextCursor`, or any valid name. */
  after?: string;
  /** Absent: every match, as an array. With a number, one page: see ListSecretsPageOptions. */
  limit?: undefined;
}

export interface ListSecretsPageOptions extends Omit<ListSecretsOptions, 'limit'> {
  /** At most this many secrets, 1 to SECRETS_LIST_MAX_LIMIT (1000). */
  limit: number;
}

/**
 * One page of listSecrets({ limit }), in name order (byte order). Walking pages with
 * `after: nextCursor` returns every secret that lives throughout the walk exactly once, whatever
 * is created or deleted meanwhile: the cursor is the last name given, not a position.
 */
export interface SecretsPage {
  secrets: SecretMetadata[];
  /** The `after` of the next page; null when no secret remains after this one. */
  nextCursor: string | null;
}

export interface CountSecretsOptions extends SecretsFilter, ActorOptions {}

/** One name's answer in getSecrets(): its value, or what getSecret() would have thrown. */
export type SecretReadResult = SecretValueResult | SecretReadFailure;

export interface SecretValueResult {
  name: string;
  ok: true;
  value: string;
  /** The version the value is. */
  version: number;
}

export interface SecretReadFailure {
  name: string;
  ok: false;
  /** SecretNotFoundError (and its subclasses), InvalidSecretInputError for a bad name, … */
  error: NestKmsError;
}

/** What listSecrets returns: metadata only, never a value. */
export interface SecretMetadata {
  name: string;
  currentVersion: number;
  createdAt: Date;
  updatedAt: Date;
  expiresAt: Date | null;
  /** Data key of the current version's envelope. */
  keyId: string;
  tags: Record<string, string>;
  rotationPolicy: RotationPolicy;
  description: string | null;
}

export type SecretVersionStage = 'current' | 'previous' | 'inactive';

export interface SecretVersionMetadata {
  version: number;
  stage: SecretVersionStage;
  createdAt: Date;
  expiresAt: Date | null;
  keyId: string;
}

/** A change to a secret, as SecretRef.changes and SecretsService.watch() deliver it. Never the value. */
export interface SecretChange {
  name: string;
  /** The new current version; null when the secret is gone (deleted, destroyed). */
  version: number | null;
  reason:
    | 'created'
    | 'updated'
    | 'rotated'
    | 'deleted'
    | 'recovered'
    | 'destroyed'
    | 'restored'
    | 'cleared'
    /** This replica lost contact with the others and re-read everything: the value may have changed. */
    | 'resynced';
}

export interface SecretsStatus {
  cacheSize: number;
  cacheHits: number;
  cacheMisses: number;
  /** hits / (hits + misses), 0 before any read. */
  cacheHitRate: number;
  /** Expired secrets this instance reported (secret_expired) since it started; across replicas each is reported once. */
  expiredSecretsReported: number;
  /** Automatic rotations this instance made since it started. */
  autoRotations: number;
  /** Automatic rotations that failed here since start (each logged as secret_rotation_failed). */
  autoRotationFailures: number;
  kmsStatus: KmsStatus & { secretsCount: number; expiredSecretsCount: number };
}
