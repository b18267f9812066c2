import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { filter, type Observable } from 'rxjs';
import { KmsService } from '@nest-kms/kms';
import { KmsRegion, KmsStorage } from '@nest-kms/kms/extension';
import { AuditSealing } from './audit/audit-sealing.js';
import { KmsSecurityTrail } from './audit/kms-security-trail.js';
import { SecretsAudit } from './audit/secrets-audit.js';
import { SecretsBackup } from './backup/secrets-backup.js';
import type {
  SecretsBackupResult,
  SecretsRestoreResult,
} from './backup/secrets-backup.interface.js';
import { SecretsNotInitializedError } from './errors/secrets-not-initialized.error.js';
import type {
  ActorOptions,
  CountSecretsOptions,
  GetSecretOptions,
  ListSecretsOptions,
  ListSecretsPageOptions,
  RotateSecretOptions,
  SecretChange,
  SecretMetadata,
  SecretReadResult,
  SecretsPage,
  SecretsStatus,
  SecretVersionMetadata,
  SetSecretOptions,
} from './interfaces/secret-operations.interface.js';
import type {
  SecretRotator,
  SecretRotatorOptions,
  SecretsLifecycleReport,
} from './lifecycle/secret-rotator.interface.js';
import { SecretRotators } from './lifecycle/secret-rotators.js';
import { SecretsLifecycle } from './lifecycle/secrets-lifecycle.js';
import { SecretListing } from './listing/secret-listing.js';
import { SecretChangeFeed } from './secret-change-feed.js';
import { SecretReader } from './secret-reader.js';
import { SecretWriter } from './secret-writer.js';
import { DestroyedKeysEviction } from './cache/destroyed-keys-eviction.js';
import { TENANT_SCOPE_MARK, tenantScope } from './secret-scope.js';
import { TenantSecrets, type TenantSecretsContext } from './tenant-secrets.js';
import {
  SECRETS_ENTITIES,
  SECRETS_ENVELOPE_COLUMNS,
  SECRETS_MIGRATIONS,
  SECRETS_RESOLVED_OPTIONS,
} from './secrets.constants.js';
import type { ResolvedSecretsOptions } from './secrets.options.js';
import { SecretsStore } from './secrets.store.js';

/**
 * Secrets with versions, expiry, tags and an audit trail, encrypted by KmsService. Reads and
 * listings go through SecretReader (a cached read touches no database), changes through
 * SecretWriter, backups through SecretsBackup; secrets.providers.ts wires them.
 */
@Injectable()
export class SecretsService
  implements OnModuleInit, BeforeApplicationShutdown, OnApplicationShutdown
{
  private started = false;
  private starting: Promise<void> | undefined;
  private stopFollowing: (() => void) | undefined;
  private tenantContext: TenantSecretsContext | undefined;

  constructor(
    private readonly kms: KmsService,
    private readonly storage: KmsStorage,
    @Inject(SECRETS_RESOLVED_OPTIONS) private readonly options: ResolvedSecretsOptions,
    private readonly store: SecretsStore,
    private readonly reader: SecretReader,
    private readonly writer: SecretWriter,
    private readonly backups: SecretsBackup,
    private readonly audit: SecretsAudit,
    private readonly lifecycle: SecretsLifecycle,
    private readonly rotators: SecretRotators,
    private readonly changes: SecretChangeFeed,
    private readonly region: KmsRegion,
    private readonly listing: SecretListing,
    private readonly sealing: AuditSealing,
    private readonly securityTrail: KmsSecurityTrail,
    private readonly destroyedKeys: DestroyedKeysEviction,
  ) {
    // Before any module initialises: the KMS DataSource opens with the secrets tables in it.
    storage.register({
      name: '@nest-kms/secrets',
      entities: SECRETS_ENTITIES,
      migrations: SECRETS_MIGRATIONS,
      envelopeColumns: SECRETS_ENVELOPE_COLUMNS,
    });
  }

  async onModuleInit(): Promise<void> {
    await this.initialize();
  }

  /**
   * Loads the keyring and opens the secrets tables. SecretsModule calls it at start-up; a module
   * that Nest initialises earlier (e.g. one reading secrets in its own onModuleInit) may await
   * it. Idempotent; concurrent calls share one start.
   */
  initialize(): Promise<void> {
    this.starting ??= this.start().catch((error: unknown) => {
      this.starting = undefined;
      throw error;
    });
    return this.starting;
  }

  private async start(): Promise<void> {
    // Writes encrypt: the keyring must be loaded whichever module initialises first.
    await this.kms.initialize();
    await this.storage.dataSource();
    const stopChanges = this.changes.follow();
    const stopEvictions = this.destroyedKeys.follow();
    this.stopFollowing = () => {
      stopChanges();
      stopEvictions();
    };
    // A replica region writes nothing: its secrets expire and rotate in the primary.
    if (!this.region.replica) this.lifecycle.start(this.options.lifecycleCheckIntervalMs);
    // Each region keeps (and seals) the audit trail of what was done there.
    this.sealing.start(this.options.auditSealIntervalMs);
    this.started = true;
  }

  /** Before initialize() has finished, every operation refuses with SecretsNotInitializedError. */
  private ready(): void {
    if (!this.started) throw new SecretsNotInitializedError();
  }

  /** Stores a new version (creating the secret on first use) and makes it current; clears its cache entry. */
  async setSecret(
    name: string,
    value: string,
    options?: SetSecretOptions,
  ): Promise<SecretMetadata> {
    this.ready();
    this.region.assertWritable('setSecret');
    return this.writer.setSecret(name, value, options);
  }

  /**
   * A new current value for an existing secret; the old one becomes `previous`. The cache entry
   * goes at once. With `expectedVersion`, only if the secret is still at that version.
   */
  async rotateSecret(
    name: string,
    newValue: string,
    options: RotateSecretOptions = {},
  ): Promise<SecretMetadata> {
    this.ready();
    this.region.assertWritable('rotateSecret');
    // Only the public options: how the lifecycle job labels its own rotations stays its own.
    const { actor, expectedVersion } = options;
    return this.writer.rotateSecret(name, newValue, { actor, expectedVersion });
  }

  /** Soft delete, undone by recoverSecret() within the recovery window. */
  async deleteSecret(name: string, options?: ActorOptions): Promise<SecretMetadata> {
    this.ready();
    this.region.assertWritable('deleteSecret');
    return this.writer.deleteSecret(name, options);
  }

  async recoverSecret(name: string, options?: ActorOptions): Promise<SecretMetadata> {
    this.ready();
    this.region.assertWritable('recoverSecret');
    return this.writer.recoverSecret(name, options);
  }

  /** Removes a deleted secret and every version for good. */
  async destroySecret(name: string, options?: ActorOptions): Promise<SecretMetadata> {
    this.ready();
    this.region.assertWritable('destroySecret');
    return this.writer.destroySecret(name, options);
  }

  /**
   * The metadata snapshot of live secrets, plus `artifact`: an encrypted, self-contained export
   * (wrapped data keys, every secret and version as stored) for restoreSecrets(). No value is
   * decrypted to make it.
   */
  async backupSecrets(options?: ActorOptions): Promise<SecretsBackupResult> {
    this.ready();
    return this.backups.backup(options);
  }

  /**
   * Loads a backupSecrets() artifact into this database (empty or not) under the same master
   * key. Refused whole, nothing written, when the artifact was altered or a secret here has
   * other content (SecretRestoreConflictError); restoring twice is harmless.
   */
  async restoreSecrets(artifact: unknown, options?: ActorOptions): Promise<SecretsRestoreResult> {
    this.ready();
    this.region.assertWritable('restoreSecrets');
    return this.backups.restore(artifact, options);
  }

  /**
   * Rotates `name` automatically with `rotator` when the secret's rotationPolicy is 'auto' and it
   * is due (`everyDays` after its last change, default 90% of its ttlDays): one replica, once.
   * May be called before start-up. Returns a function that removes the rotator.
   */
  registerRotator(
    name: string,
    rotator: SecretRotator,
    options?: SecretRotatorOptions,
  ): () => void {
    return this.rotators.register(name, rotator, options);
  }

  /** Runs the lifecycle job (expiry sweep, due rotations) now, or joins the run under way. */
  async runLifecycle(): Promise<SecretsLifecycleReport> {
    this.ready();
    this.region.assertWritable('runLifecycle');
    return this.lifecycle.run();
  }

  /** Before KmsStorage closes the DataSource (on shutdown). */
  async beforeApplicationShutdown(): Promise<void> {
    this.securityTrail.close();
    if (!this.started) return;
    await this.lifecycle.stop();
    await this.sealing.stop();
    await this.audit.close();
    // This process's last records join the chain now rather than at another replica's next run.
    await this.sealing.run().catch(() => undefined);
  }

  onApplicationShutdown(): void {
    this.stopFollowing?.();
    this.reader.clear();
    this.changes.close();
  }

  /** The current value (or `{ version }`'s). Expired, deleted or unknown: SecretNotFoundError and subclasses. */
  getSecret(name: string, options?: GetSecretOptions): Promise<string> {
    // Not async: a cached read then makes one promise, the reader's, not two.
    if (!this.started) return Promise.reject(new SecretsNotInitializedError());
    return this.reader.getSecret(name, options);
  }

  /**
   * Current values of up to SECRETS_BATCH_MAX_NAMES (100) names, in their order: per name its
   * value and version, or the error getSecret() would have thrown (one missing or deleted
   * secret does not fail the others). Cached values come from the cache; the rest are read in
   * one query. Each name is audited as a getSecret() is. More names, or not an array of
   * strings: InvalidSecretInputError (`SECRET_INVALID_INPUT`, field `names`).
   */
  getSecrets(names: readonly string[], options?: ActorOptions): Promise<SecretReadResult[]> {
    if (!this.started) return Promise.reject(new SecretsNotInitializedError());
    return this.reader.getSecrets(names, options);
  }

  /**
   * Metadata of live secrets (never values), in name order (byte order), those with tag `key`
   * or `key=value` and names starting with `prefix`; the filters run in SQL on an index.
   *
   * With `limit` (1 to SECRETS_LIST_MAX_LIMIT), one page and the cursor of the next:
   * `{ secrets, nextCursor }`; pass `nextCursor` as `after` until it is null. A page costs the
   * same whatever the number of secrets. Without `limit`, every match as an array, as before
   * pages existed: fine for a few thousand secrets. A bad limit, cursor, prefix or tag:
   * InvalidSecretInputError (`SECRET_INVALID_INPUT`, its `field` says which).
   */
  listSecrets(options: ListSecretsPageOptions): Promise<SecretsPage>;
  /** Without `limit`: every live secret that matches, in name order, as an array. */
  listSecrets(options?: ListSecretsOptions): Promise<SecretMetadata[]>;
  async listSecrets(
    options: ListSecretsOptions | ListSecretsPageOptions = {},
  ): Promise<SecretMetadata[] | SecretsPage> {
    this.ready();
    return options.limit === undefined ? this.listing.list(options) : this.listing.page(options);
  }

  /**
   * How many live secrets match `tag` and `prefix`. A method of its own, not a total on every
   * page: a count walks every match (an index range, no envelope), which a page must not cost.
   */
  async countSecrets(options: CountSecretsOptions = {}): Promise<number> {
    this.ready();
    return this.listing.count(options);
  }

  /** Version history of a secret, newest first: metadata only. */
  async listSecretVersions(name: string): Promise<SecretVersionMetadata[]> {
    this.ready();
    return this.listing.listVersions(name);
  }

  /**
   * Changes of one secret (or all untenanted ones, without a name): no values, only names,
   * versions and reasons. A tenant's changes: forTenant(tenant).watch().
   */
  watch(name?: string): Observable<SecretChange> {
    return name === undefined
      ? this.changes.changes.pipe(filter((change) => !change.name.startsWith(TENANT_SCOPE_MARK)))
      : this.changes.changes.pipe(filter((change) => change.name === name));
  }

  /**
   * One tenant's secrets: the methods above, with names of the tenant's own (two tenants may
   * use the same name), values sealed under the tenant's data keys (KmsService's `tenant`) and
   * bound to the tenant. Its secrets never appear through this service's own methods, and once
   * the tenant is destroyed (KmsService.destroyTenant) its values no longer open
   * (DataKeyNotFoundError) and none is served from the cache. A tenant id the KMS refuses:
   * InvalidTenantError.
   */
  forTenant(tenant: string): TenantSecrets {
    this.ready();
    this.tenantContext ??= {
      writer: this.writer,
      reader: this.reader,
      listing: this.listing,
      changes: this.changes,
      rotators: this.rotators,
      region: this.region,
      ready: () => this.ready(),
    };
    return new TenantSecrets(tenantScope(tenant), this.tenantContext);
  }

  /** Forgets every cached value: the next reads go to the database. */
  clearCache(): void {
    this.ready();
    this.reader.clear();
  }

  async getStatus(): Promise<SecretsStatus> {
    this.ready();
    const counts = await this.store.counts(this.options.clock());
    return {
      ...this.reader.cacheCounters(),
      ...this.lifecycle.counters(),
      kmsStatus: { ...this.kms.getStatus(), ...counts },
    };
  }
}
