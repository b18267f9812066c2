import { Logger } from '@nestjs/common';
import { type KmsService } from '@nest-kms/kms';
import { isUniqueViolation, purposeEnvelopes, type SealedExports } from '@nest-kms/kms/extension';
import type { EntityManager } from 'typeorm';
import type { SecretsAudit } from '../audit/secrets-audit.js';
import { SecretVersionEntity } from '../entities/secret-version.entity.js';
import { SecretEntity } from '../entities/secret.entity.js';
import { SecretRestoreConflictError } from '../errors/secret-restore-conflict.error.js';
import type { ActorOptions, SecretChange } from '../interfaces/secret-operations.interface.js';
import type { SecretChangeFeed } from '../secret-change-feed.js';
import { secretBinding, toMetadata } from '../secret.mapping.js';
import { tenantOfStoredName } from '../secret-scope.js';
import { SECRETS_EVENTS } from '../secrets.messages.js';
import type { SecretsStore } from '../secrets.store.js';
import { checkActor } from '../secrets.validation.js';
import {
  BACKUP_FORMAT,
  BACKUP_PURPOSE,
  toBackupSecret,
  type BackupPayload,
  type BackupSecret,
} from './backup-payload.js';
import { parseBackupPayload } from './parse-backup-payload.js';
import { restorableSecrets } from './restorable-secrets.js';
import { insertSecrets, planRestore } from './restore-plan.js';
import type { SecretsBackupResult, SecretsRestoreResult } from './secrets-backup.interface.js';

/**
 * Backups as sealed exports and their restore. Values are never decrypted to make a backup:
 * envelopes travel as stored, with the wrapped data keys that open them, so a backup is as safe
 * to keep as the database it came from and opens only under the same master key. (Restored into
 * another keyring, a tenant's values are sealed anew there: see restorableSecrets.)
 */
export class SecretsBackup {
  private readonly logger = new Logger('SecretsService');

  constructor(
    private readonly kms: KmsService,
    private readonly exports: SealedExports,
    private readonly store: SecretsStore,
    private readonly audit: SecretsAudit,
    private readonly now: () => number,
    private readonly changes: SecretChangeFeed,
  ) {}

  /**
   * The metadata snapshot of live secrets and a sealed artifact of everything (soft-deleted
   * secrets, every version, the keyring's wrapped data keys) for restore().
   */
  async backup(options: ActorOptions = {}): Promise<SecretsBackupResult> {
    checkActor(options.actor);
    return this.audit.guard({ action: 'backup', actor: options.actor }, async () => {
      const { rows, versions } = await this.snapshot();
      // After the snapshot: every key its envelopes name already existed when it was read.
      const keyring = await this.kms.exportKeyring();
      const byName = new Map<string, SecretVersionEntity[]>();
      for (const version of versions) {
        const held = byName.get(version.secretName);
        if (held) held.push(version);
        else byName.set(version.secretName, [version]);
      }
      const createdAt = new Date(this.now());
      const payload: BackupPayload = {
        format: BACKUP_FORMAT,
        v: 1,
        createdAt: createdAt.toISOString(),
        keyring,
        secrets: rows.map((row) => toBackupSecret(row, byName.get(row.name) ?? [])),
      };
      const json = Buffer.from(JSON.stringify(payload), 'utf8');
      // A backup that would not restore is refused now, not discovered during a recovery.
      parseBackupPayload(json);
      const artifact = await this.exports.seal(json, BACKUP_PURPOSE);
      await this.audit.record({ action: 'backup', actor: options.actor, outcome: 'success' });
      return {
        createdAt,
        secrets: rows.filter((row) => row.deletedAt === null).map((row) => toMetadata(row)),
        artifact,
      };
    });
  }

  /**
   * Loads a backup made under this master key. Refused whole, before any write, when the
   * artifact is altered or foreign (InvalidExportError), its payload malformed
   * (InvalidBackupError), or a secret exists here with other content
   * (SecretRestoreConflictError). Secrets already here as in the backup are left alone, so
   * restoring twice is harmless.
   */
  async restore(artifact: unknown, options: ActorOptions = {}): Promise<SecretsRestoreResult> {
    checkActor(options.actor);
    const { result, restored } = await this.audit.guard(
      { action: 'restore', actor: options.actor },
      async () => {
        const payload = parseBackupPayload(await this.exports.open(artifact, BACKUP_PURPOSE));
        const { restorable, sealedAnew, notRestored } = await restorableSecrets(
          this.exports,
          payload,
        );
        const plan = await this.store.transaction((manager) =>
          planRestore(manager, restorable, sealedAnew),
        );
        if (plan.conflicts.length > 0) throw new SecretRestoreConflictError(plan.conflicts);
        // Refuses keys that do not unwrap here before writing any; the secrets need them to decrypt.
        const dataKeysAdded = (await this.kms.importKeyring(payload.keyring)).length;
        const write = () => this.insert(restorable, sealedAnew, options.actor);
        // A concurrent restore may insert the same names first: the second pass sees them.
        const done = await write().catch((error: unknown) =>
          isUniqueViolation(error) ? write() : Promise.reject(error),
        );
        return {
          result: {
            restored: done.restored.map((secret) => secret.name),
            unchanged: done.unchanged,
            dataKeysAdded,
            notRestored,
          },
          restored: done.restored,
        };
      },
    );
    for (const secret of restored) this.changes.announce(restoredChange(secret));
    this.logger.log({
      event: SECRETS_EVENTS.restored,
      restoredCount: result.restored.length,
      unchangedCount: result.unchanged.length,
      dataKeysAdded: result.dataKeysAdded,
      notRestoredCount: result.notRestored.length,
      restored: result.restored,
      actor: options.actor,
    });
    return result;
  }

  /**
   * Secrets and versions as of one moment: read apart, a write between the two reads would
   * leave a secret whose versions do not match its row.
   */
  private snapshot(): Promise<{ rows: SecretEntity[]; versions: SecretVersionEntity[] }> {
    const read = async (manager: EntityManager) => ({
      rows: await manager.find(SecretEntity, { order: { name: 'ASC' } }),
      versions: await manager.find(SecretVersionEntity),
    });
    // Postgres' default READ COMMITTED would give each statement its own snapshot.
    return this.store.snapshotTransaction(read);
  }

  /** The writes of a restore and its audit record, in one transaction, conflicts checked again inside it. */
  private insert(
    secrets: readonly BackupSecret[],
    sealedAnew: ReadonlySet<string>,
    actor: string | undefined,
  ): Promise<{ restored: BackupSecret[]; unchanged: string[] }> {
    return this.store.transaction(async (manager) => {
      const plan = await planRestore(manager, secrets, sealedAnew);
      if (plan.conflicts.length > 0) throw new SecretRestoreConflictError(plan.conflicts);
      await insertSecrets(
        manager,
        await Promise.all(plan.missing.map((secret) => this.adopted(secret))),
      );
      await this.audit.recordIn(manager, { action: 'restore', actor, outcome: 'success' });
      for (const secret of plan.missing)
        await this.changes.publish(manager, restoredChange(secret));
      return { restored: plan.missing, unchanged: plan.unchanged };
    });
  }

  /**
   * A backup from before envelopes carried their purpose holds format-v1 values: the sealed
   * backup is authenticated by the master key, so each is checked against its binding and sealed
   * anew for the secrets store as it is restored, whatever the store accepts today.
   */
  private async adopted(secret: BackupSecret): Promise<BackupSecret> {
    const values = purposeEnvelopes(this.kms, 'secret');
    const versions = await Promise.all(
      secret.versions.map(async (version) => ({
        ...version,
        ...(await values.adopt(
          version.envelope,
          secretBinding(secret.name, version.version, tenantOfStoredName(secret.name)),
        )),
      })),
    );
    return { ...secret, versions };
  }
}

function restoredChange(secret: BackupSecret): SecretChange {
  return {
    name: secret.name,
    version: secret.deletedAt === null ? secret.currentVersion : null,
    reason: 'restored',
  };
}
