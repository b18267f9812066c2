import { Logger } from '@nestjs/common';
import { type KmsService } from '@nest-kms/kms';
import { isUniqueViolation } from '@nest-kms/kms/extension';
import type { EntityManager } from 'typeorm';
import type { SecretsAudit } from './audit/secrets-audit.js';
import { SecretVersionEntity } from './entities/secret-version.entity.js';
import { SecretEntity } from './entities/secret.entity.js';
import { SecretDeletedError } from './errors/secret-deleted.error.js';
import { SecretNotFoundError } from './errors/secret-not-found.error.js';
import { SecretStateError } from './errors/secret-state.error.js';
import type {
  ActorOptions,
  GuardedRotateOptions,
  SecretChange,
  SecretMetadata,
  SetSecretOptions,
} from './interfaces/secret-operations.interface.js';
import type { SecretChangeFeed } from './secret-change-feed.js';
import { toMetadata } from './secret.mapping.js';
import { sealSecretValue } from './secret-values.js';
import { DAY_MS } from './secrets.constants.js';
import { SECRETS_EVENTS } from './secrets.messages.js';
import type { ResolvedSecretsOptions } from './secrets.options.js';
import type { SecretsStore } from './secrets.store.js';
import { checkActor, checkName, checkSetOptions, checkValue } from './secrets.validation.js';

/**
 * Every change to a secret: a new version (set, rotate) or a lifecycle step (delete, recover,
 * destroy). Each runs in one transaction with its audit record, the secret's row locked.
 */
export class SecretWriter {
  private readonly logger = new Logger('SecretsService');

  constructor(
    private readonly kms: KmsService,
    private readonly store: SecretsStore,
    private readonly audit: SecretsAudit,
    private readonly options: ResolvedSecretsOptions,
    private readonly changes: SecretChangeFeed,
  ) {}

  /** Stores a new version (creating the secret on first use) and makes it current. */
  setSecret(name: string, value: string, options: SetSecretOptions = {}): Promise<SecretMetadata> {
    return this.addVersion('write', name, value, options);
  }

  /** A new current value for an existing secret; the old one becomes `previous`. */
  rotateSecret(
    name: string,
    value: string,
    options: GuardedRotateOptions = {},
  ): Promise<SecretMetadata> {
    const { actor, expectedVersion, reason } = options;
    return this.addVersion('rotate', name, value, { actor, expectedVersion, reason });
  }

  /** Soft delete: reads fail with "Secret not found" until recoverSecret(), within the recovery window. */
  deleteSecret(name: string, options: ActorOptions = {}): Promise<SecretMetadata> {
    return this.lifecycle('delete', name, options, async (manager, secret, now) => {
      if (secret.deletedAt !== null)
        throw new SecretDeletedError(name, dateOf(secret.recoverableUntil));
      const recoverableUntil = now + this.options.recoveryWindowDays * DAY_MS;
      await manager.update(
        SecretEntity,
        { name },
        { deletedAt: now, recoverableUntil, updatedAt: now },
      );
      return { ...secret, deletedAt: now, recoverableUntil };
    });
  }

  /** Undoes deleteSecret() within the recovery window. */
  recoverSecret(name: string, options: ActorOptions = {}): Promise<SecretMetadata> {
    return this.lifecycle('recover', name, options, async (manager, secret, now) => {
      if (secret.deletedAt === null) throw new SecretStateError(name, 'is not deleted');
      if (secret.recoverableUntil !== null && secret.recoverableUntil <= now) {
        throw new SecretStateError(name, 'its recovery window has ended; destroySecret() it');
      }
      await manager.update(
        SecretEntity,
        { name },
        { deletedAt: null, recoverableUntil: null, updatedAt: now },
      );
      return { ...secret, deletedAt: null, recoverableUntil: null };
    });
  }

  /** Removes a deleted secret and all its versions for good. Refused for a live secret: delete it first. */
  destroySecret(name: string, options: ActorOptions = {}): Promise<SecretMetadata> {
    return this.lifecycle('destroy', name, options, async (manager, secret) => {
      if (secret.deletedAt === null)
        throw new SecretStateError(name, 'is live; deleteSecret() it before destroying it');
      await this.store.destroy(manager, name);
      return secret;
    });
  }

  private async addVersion(
    action: 'write' | 'rotate',
    name: string,
    value: string,
    options: SetSecretOptions & Omit<GuardedRotateOptions, 'actor'>,
  ): Promise<SecretMetadata> {
    // A bad actor cannot be recorded; every other refusal leaves a failure record.
    checkActor(options.actor);
    const write = () =>
      this.store.transaction(async (manager) => {
        const existing = await this.store.lock(manager, name);
        if (action === 'rotate' && !existing) throw new SecretNotFoundError(name);
        if (existing && existing.deletedAt !== null) {
          if (action === 'rotate')
            throw new SecretDeletedError(name, dateOf(existing.recoverableUntil));
          throw new SecretStateError(
            name,
            'is deleted; recoverSecret() or destroySecret() it first',
          );
        }
        if (
          options.expectedVersion !== undefined &&
          existing?.currentVersion !== options.expectedVersion
        ) {
          throw new SecretStateError(
            name,
            `is at version ${existing?.currentVersion}, not ${options.expectedVersion}: it changed meanwhile`,
          );
        }
        const now = this.options.clock();
        const version = (existing?.currentVersion ?? 0) + 1;
        const ttlDays =
          options.ttlDays !== undefined ? options.ttlDays : (existing?.ttlDays ?? null);
        const expiresAt = ttlDays === null ? null : now + ttlDays * DAY_MS;
        const { envelope, keyId } = sealSecretValue(this.kms, name, version, value);
        await manager.insert(SecretVersionEntity, {
          secretName: name,
          version,
          envelope,
          keyId,
          createdAt: now,
          expiresAt,
        });
        const row: SecretEntity = {
          name,
          currentVersion: version,
          currentEnvelope: envelope,
          currentKeyId: keyId,
          rotationPolicy: options.rotationPolicy ?? existing?.rotationPolicy ?? 'manual',
          ttlDays,
          tags: options.tags ? JSON.stringify(sortedTags(options.tags)) : (existing?.tags ?? '{}'),
          description:
            options.description !== undefined
              ? options.description
              : (existing?.description ?? null),
          createdAt: existing?.createdAt ?? now,
          updatedAt: now,
          expiresAt,
          deletedAt: null,
          recoverableUntil: null,
          expiryReportedAt: null,
          rotationClaimedUntil: null,
        };
        if (existing) await manager.update(SecretEntity, { name }, row);
        else await manager.insert(SecretEntity, row);
        await this.audit.recordIn(manager, {
          action,
          secretName: name,
          version,
          actor: options.actor,
          outcome: 'success',
        });
        await this.changes.publish(manager, {
          name,
          version,
          reason: versionReason(action, version),
        });
        return row;
      });
    const row = await this.audit.guard({ action, secretName: name, actor: options.actor }, () => {
      checkName(name);
      checkValue(value);
      checkSetOptions(options);
      // Two first writes of a new name race for version 1; the loser retries once and appends.
      return write().catch((error: unknown) =>
        isUniqueViolation(error) ? write() : Promise.reject(error),
      );
    });
    const reason = versionReason(action, row.currentVersion);
    this.changes.announce({ name, version: row.currentVersion, reason });
    const event =
      reason === 'rotated'
        ? SECRETS_EVENTS.rotated
        : reason === 'created'
          ? SECRETS_EVENTS.created
          : SECRETS_EVENTS.updated;
    this.logger.log({
      event,
      name,
      version: row.currentVersion,
      keyId: row.currentKeyId,
      actor: options.actor,
      reason: options.reason,
    });
    return toMetadata(row);
  }

  private async lifecycle(
    action: 'delete' | 'recover' | 'destroy',
    name: string,
    options: ActorOptions,
    apply: (manager: EntityManager, secret: SecretEntity, now: number) => Promise<SecretEntity>,
  ): Promise<SecretMetadata> {
    checkActor(options.actor);
    const row = await this.audit.guard({ action, secretName: name, actor: options.actor }, () => {
      checkName(name);
      return this.store.transaction(async (manager) => {
        const secret = await this.store.lock(manager, name);
        if (!secret) throw new SecretNotFoundError(name);
        const updated = await apply(manager, secret, this.options.clock());
        await this.audit.recordIn(manager, {
          action,
          secretName: name,
          version: secret.currentVersion,
          actor: options.actor,
          outcome: 'success',
        });
        await this.changes.publish(manager, lifecycleChange(action, updated));
        return updated;
      });
    });
    this.changes.announce(lifecycleChange(action, row));
    const event =
      action === 'delete'
        ? SECRETS_EVENTS.deleted
        : action === 'recover'
          ? SECRETS_EVENTS.recovered
          : SECRETS_EVENTS.destroyed;
    this.logger.log({ event, name, actor: options.actor });
    return toMetadata(row);
  }
}

const dateOf = (epochMs: number | null): Date | null =>
  epochMs === null ? null : new Date(epochMs);

function versionReason(action: 'write' | 'rotate', version: number): SecretChange['reason'] {
  return action === 'rotate' ? 'rotated' : version === 1 ? 'created' : 'updated';
}

function lifecycleChange(
  action: 'delete' | 'recover' | 'destroy',
  secret: SecretEntity,
): SecretChange {
  if (action === 'recover') {
    return { name: secret.name, version: secret.currentVersion, reason: 'recovered' };
  }
  return {
    name: secret.name,
    version: null,
    reason: action === 'delete' ? 'deleted' : 'destroyed',
  };
}

function sortedTags(tags: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(tags).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
