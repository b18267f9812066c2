import { SecretDeletedError } from './errors/secret-deleted.error.js';
import { SecretNotFoundError } from './errors/secret-not-found.error.js';
import { SecretStateError } from './errors/secret-state.error.js';
import type { SecretEntity } from './entities/secret.entity.js';
import type { SecretChange, SetSecretOptions } from './interfaces/secret-operations.interface.js';
import { dateOf } from './secret.mapping.js';
import { DAY_MS } from './secrets.constants.js';
import { SECRETS_EVENTS } from './secrets.messages.js';

/*
 * What each change to a secret requires and produces, without I/O: SecretWriter runs these on
 * the row it locked, inside the transaction, and writes what they return.
 */

export type VersionAction = 'write' | 'rotate';
export type LifecycleAction = 'delete' | 'recover' | 'destroy';

/** May `action` add a version to `existing` (null: no such secret yet)? Throws why not. */
export function checkAddVersion(
  action: VersionAction,
  name: string,
  existing: SecretEntity | null,
  expectedVersion: number | undefined,
): void {
  /* Precondition: rotate replaces a value, so the secret exists */
  if (action === 'rotate' && !existing) throw new SecretNotFoundError(name);
  /* Precondition: a deleted secret takes no new version until recovered or destroyed */
  if (existing && existing.deletedAt !== null) {
    if (action === 'rotate') throw new SecretDeletedError(name, dateOf(existing.recoverableUntil));
    throw new SecretStateError(name, 'is deleted; recoverSecret() or destroySecret() it first');
  }
  /* Precondition: the caller's expected version is still current (nobody wrote meanwhile) */
  if (expectedVersion !== undefined && existing?.currentVersion !== expectedVersion) {
    throw new SecretStateError(
      name,
      `is at version ${existing?.currentVersion}, not ${expectedVersion}: it changed meanwhile`,
    );
  }
}

/** The new version's number and expiry: one after the current, ttlDays from `now`. */
export function nextVersion(
  existing: SecretEntity | null,
  options: SetSecretOptions,
  now: number,
): { version: number; ttlDays: number | null; expiresAt: number | null } {
  const version = (existing?.currentVersion ?? 0) + 1;
  const ttlDays = options.ttlDays !== undefined ? options.ttlDays : (existing?.ttlDays ?? null);
  return { version, ttlDays, expiresAt: ttlDays === null ? null : now + ttlDays * DAY_MS };
}

/** The secret's row once `sealed` is its current version: given options win, others are kept. */
export function nextSecretRow(
  name: string,
  existing: SecretEntity | null,
  options: SetSecretOptions,
  next: ReturnType<typeof nextVersion>,
  sealed: { envelope: string; keyId: string },
  now: number,
): SecretEntity {
  return {
    name,
    currentVersion: next.version,
    currentEnvelope: sealed.envelope,
    currentKeyId: sealed.keyId,
    rotationPolicy: options.rotationPolicy ?? existing?.rotationPolicy ?? 'manual',
    ttlDays: next.ttlDays,
    tags: options.tags ? JSON.stringify(sortedTags(options.tags)) : (existing?.tags ?? '{}'),
    description:
      options.description !== undefined ? options.description : (existing?.description ?? null),
    createdAt: existing?.createdAt ?? now,
    updatedAt: now,
    expiresAt: next.expiresAt,
    deletedAt: null,
    recoverableUntil: null,
    expiryReportedAt: null,
    rotationClaimedUntil: null,
  };
}

/** The columns a lifecycle step changes, after checking the step fits the secret's state. */
export function lifecycleUpdate(
  action: LifecycleAction,
  secret: SecretEntity,
  now: number,
  recoveryWindowDays: number,
): Pick<SecretEntity, 'deletedAt' | 'recoverableUntil'> | 'destroy' {
  const { name } = secret;
  switch (action) {
    case 'delete':
      /* Precondition: not deleted already (the first deletion's window stands) */
      if (secret.deletedAt !== null)
        throw new SecretDeletedError(name, dateOf(secret.recoverableUntil));
      return { deletedAt: now, recoverableUntil: now + recoveryWindowDays * DAY_MS };
    case 'recover':
      /* Precondition: deleted, and still within its recovery window */
      if (secret.deletedAt === null) throw new SecretStateError(name, 'is not deleted');
      if (secret.recoverableUntil !== null && secret.recoverableUntil <= now) {
        throw new SecretStateError(name, 'its recovery window has ended; destroySecret() it');
      }
      return { deletedAt: null, recoverableUntil: null };
    case 'destroy':
      /* Precondition: deleted first, so that nothing live is destroyed by one call */
      if (secret.deletedAt === null)
        throw new SecretStateError(name, 'is live; deleteSecret() it before destroying it');
      return 'destroy';
  }
}

export function versionReason(action: VersionAction, version: number): SecretChange['reason'] {
  return action === 'rotate' ? 'rotated' : version === 1 ? 'created' : 'updated';
}

export function versionEvent(reason: SecretChange['reason']): string {
  return reason === 'rotated'
    ? SECRETS_EVENTS.rotated
    : reason === 'created'
      ? SECRETS_EVENTS.created
      : SECRETS_EVENTS.updated;
}

export function lifecycleChange(action: LifecycleAction, secret: SecretEntity): SecretChange {
  if (action === 'recover') {
    return { name: secret.name, version: secret.currentVersion, reason: 'recovered' };
  }
  return {
    name: secret.name,
    version: null,
    reason: action === 'delete' ? 'deleted' : 'destroyed',
  };
}

export function lifecycleEvent(action: LifecycleAction): string {
  return action === 'delete'
    ? SECRETS_EVENTS.deleted
    : action === 'recover'
      ? SECRETS_EVENTS.recovered
      : SECRETS_EVENTS.destroyed;
}

function sortedTags(tags: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(tags).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
