import { Logger } from '@nestjs/common';
import { type KmsService } from '@nest-kms/kms';
import { isUniqueViolation, type PurposeSealer } from '@nest-kms/kms/extension';
import type { SecretsAudit } from './audit/secrets-audit.js';
import { SecretVersionEntity } from './entities/secret-version.entity.js';
import { SecretEntity } from './entities/secret.entity.js';
import { SecretNotFoundError } from './errors/secret-not-found.error.js';
import type {
  ActorOptions,
  GuardedRotateOptions,
  SecretMetadata,
  SetSecretOptions,
} from './interfaces/secret-operations.interface.js';
import { replaceSecretTags } from './listing/secret-tags.js';
import type { SecretChangeFeed } from './secret-change-feed.js';
import { toMetadata } from './secret.mapping.js';
import { storedName, UNTENANTED, type SecretScope } from './secret-scope.js';
import { sealSecretValue, secretSealer } from './secret-values.js';
import {
  checkAddVersion,
  lifecycleChange,
  lifecycleEvent,
  lifecycleUpdate,
  nextSecretRow,
  nextVersion,
  versionEvent,
  versionReason,
  type LifecycleAction,
  type VersionAction,
} from './secret-write-rules.js';
import type { ResolvedSecretsOptions } from './secrets.options.js';
import type { SecretsStore } from './secrets.store.js';
import {
  checkActor,
  checkExpectedVersion,
  checkName,
  checkSetOptions,
  checkValue,
} from './secrets.validation.js';

type AddVersionOptions = SetSecretOptions & Omit<GuardedRotateOptions, 'actor'>;

/**
 * Every change to a secret: a new version (set, rotate) or a lifecycle step (delete, recover,
 * destroy). Each runs in one transaction with its audit record, the secret's row locked; what
 * a change may do and what it writes are the pure rules of secret-write-rules.ts.
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

  /**
   * Stores a new version (creating the secret on first use) and makes it current. Every method
   * takes the name as its caller gave it and the `scope` it lives in; the rows, the audit
   * record and the change notice carry the stored name (the scope's prefix and the name).
   */
  setSecret(
    name: string,
    value: string,
    options: SetSecretOptions = {},
    scope = UNTENANTED,
  ): Promise<SecretMetadata> {
    return this.addVersion('write', name, value, options, scope);
  }

  /** A new current value for an existing secret; the old one becomes `previous`. */
  rotateSecret(
    name: string,
    value: string,
    options: GuardedRotateOptions = {},
    scope = UNTENANTED,
  ): Promise<SecretMetadata> {
    const { actor, expectedVersion, reason } = options;
    return this.addVersion('rotate', name, value, { actor, expectedVersion, reason }, scope);
  }

  /** Soft delete: reads fail with "Secret not found" until recoverSecret(), within the recovery window. */
  deleteSecret(
    name: string,
    options: ActorOptions = {},
    scope = UNTENANTED,
  ): Promise<SecretMetadata> {
    return this.lifecycle('delete', name, options, scope);
  }

  /** Undoes deleteSecret() within the recovery window. */
  recoverSecret(
    name: string,
    options: ActorOptions = {},
    scope = UNTENANTED,
  ): Promise<SecretMetadata> {
    return this.lifecycle('recover', name, options, scope);
  }

  /** Removes a deleted secret and all its versions for good. Refused for a live secret: delete it first. */
  destroySecret(
    name: string,
    options: ActorOptions = {},
    scope = UNTENANTED,
  ): Promise<SecretMetadata> {
    return this.lifecycle('destroy', name, options, scope);
  }

  private async addVersion(
    action: VersionAction,
    name: string,
    value: string,
    options: AddVersionOptions,
    scope: SecretScope,
  ): Promise<SecretMetadata> {
    // A bad actor cannot be recorded; every other refusal leaves a failure record.
    checkActor(options.actor);
    const given = name;
    name = storedName(scope, given);
    const row = await this.audit.guard(
      { action, secretName: name, actor: options.actor },
      async () => {
        checkName(given);
        checkValue(value);
        checkSetOptions(options);
        checkExpectedVersion(options.expectedVersion);
        // A tenant's keys are loaded (or made) before the transaction, which then does no other I/O.
        const sealer = await secretSealer(this.kms, name);
        // Two first writes of a new name race for version 1; the loser retries once and appends.
        return this.writeVersion(action, name, value, options, sealer).catch((error: unknown) =>
          isUniqueViolation(error)
            ? this.writeVersion(action, name, value, options, sealer)
            : Promise.reject(error),
        );
      },
    );
    const reason = versionReason(action, row.currentVersion);
    this.changes.announce({ name, version: row.currentVersion, reason });
    this.logger.log({
      event: versionEvent(reason),
      name,
      version: row.currentVersion,
      keyId: row.currentKeyId,
      actor: options.actor,
      reason: options.reason,
    });
    return toMetadata(row, scope);
  }

  private writeVersion(
    action: VersionAction,
    name: string,
    value: string,
    options: AddVersionOptions,
    sealer: PurposeSealer,
  ): Promise<SecretEntity> {
    return this.store.transaction(async (manager) => {
      const existing = await this.store.lock(manager, name);
      checkAddVersion(action, name, existing, options.expectedVersion);
      const now = this.options.clock();
      const next = nextVersion(existing, options, now);
      const sealed = sealSecretValue(sealer, name, next.version, value);
      await manager.insert(SecretVersionEntity, {
        secretName: name,
        version: next.version,
        envelope: sealed.envelope,
        keyId: sealed.keyId,
        createdAt: now,
        expiresAt: next.expiresAt,
      });
      const row = nextSecretRow(name, existing, options, next, sealed, now);
      if (existing) await manager.update(SecretEntity, { name }, row);
      else await manager.insert(SecretEntity, row);
      // The rows a tag filter reads change with the tags, in the same transaction.
      if (!existing || options.tags !== undefined) await replaceSecretTags(manager, name, row.tags);
      await this.audit.recordIn(manager, {
        action,
        secretName: name,
        version: next.version,
        actor: options.actor,
        outcome: 'success',
      });
      const reason = versionReason(action, next.version);
      await this.changes.publish(manager, { name, version: next.version, reason });
      return row;
    });
  }

  private async lifecycle(
    action: LifecycleAction,
    given: string,
    options: ActorOptions,
    scope: SecretScope,
  ): Promise<SecretMetadata> {
    checkActor(options.actor);
    const name = storedName(scope, given);
    const row = await this.audit.guard({ action, secretName: name, actor: options.actor }, () => {
      checkName(given);
      return this.store.transaction(async (manager) => {
        const secret = await this.store.lock(manager, name);
        if (!secret) throw new SecretNotFoundError(name);
        const now = this.options.clock();
        const update = lifecycleUpdate(action, secret, now, this.options.recoveryWindowDays);
        if (update === 'destroy') await this.store.destroy(manager, name);
        else await manager.update(SecretEntity, { name }, { ...update, updatedAt: now });
        const updated = update === 'destroy' ? secret : { ...secret, ...update };
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
    this.logger.log({ event: lifecycleEvent(action), name, actor: options.actor });
    return toMetadata(row, scope);
  }
}
