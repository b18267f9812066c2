import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import type { SchedulerRegistry } from '@nestjs/schedule';
import { Subject, filter, type Observable } from 'rxjs';
import { KmsMetrics, KmsService } from '@nest-kms/kms';
import {
  KMS_SCHEDULER_REGISTRY,
  KmsNotifications,
  KmsStorage,
  SealedExports,
} from '@nest-kms/kms/extension';
import type {
  SecretsBackupResult,
  SecretsRestoreResult,
} from './backup/secrets-backup.interface.js';
import { SecretNotFoundError } from './errors/secret-not-found.error.js';
import { SecretsNotInitializedError } from './errors/secrets-not-initialized.error.js';
import type {
  ActorOptions,
  GetSecretOptions,
  ListSecretsOptions,
  SecretChange,
  SecretMetadata,
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
import { SecretChangeFeed } from './secret-change-feed.js';
import { createSecretsRuntime, type SecretsRuntime } from './secrets-runtime.js';
import { SecretsMetrics } from './secrets-metrics.js';
import { toMetadata, toVersionMetadata } from './secret.mapping.js';
import {
  SECRETS_ENTITIES,
  SECRETS_ENVELOPE_COLUMNS,
  SECRETS_MIGRATIONS,
  SECRETS_RESOLVED_OPTIONS,
} from './secrets.constants.js';
import type { ResolvedSecretsOptions } from './secrets.options.js';
import { checkActor, checkName, matchesTag } from './secrets.validation.js';

/**
 * Secrets with versions, expiry, tags and an audit trail, encrypted by KmsService. A cached
 * read touches no database (SecretReader); changes go through SecretWriter, backups through
 * SecretsBackup.
 */
@Injectable()
export class SecretsService
  implements OnModuleInit, BeforeApplicationShutdown, OnApplicationShutdown
{
  private runtime: SecretsRuntime | undefined;
  private starting: Promise<void> | undefined;
  private readonly changeStream = new Subject<SecretChange>();
  private readonly rotators = new SecretRotators();
  private readonly changes: SecretChangeFeed;
  private readonly metrics: SecretsMetrics;
  private unsubscribe: (() => void)[] = [];

  constructor(
    private readonly kms: KmsService,
    private readonly storage: KmsStorage,
    @Inject(SECRETS_RESOLVED_OPTIONS) private readonly options: ResolvedSecretsOptions,
    @Inject(KMS_SCHEDULER_REGISTRY) private readonly scheduler: SchedulerRegistry,
    private readonly notifications: KmsNotifications,
    kmsMetrics: KmsMetrics,
    private readonly exports: SealedExports,
  ) {
    this.metrics = new SecretsMetrics(kmsMetrics, () => this.runtime?.reader.cache.hitRate ?? 0);
    this.changes = new SecretChangeFeed(notifications, (change) => this.changed(change));
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
    const runtime = await createSecretsRuntime({
      kms: this.kms,
      storage: this.storage,
      exports: this.exports,
      options: this.options,
      scheduler: this.scheduler,
      changes: this.changes,
      rotators: this.rotators,
      metrics: this.metrics,
    });
    this.runtime = runtime;
    this.followOtherReplicas(runtime);
    runtime.lifecycle.start(this.options.lifecycleCheckIntervalMs);
  }

  /** The started collaborators; before initialize() has finished, SecretsNotInitializedError. */
  private ready(): SecretsRuntime {
    if (this.runtime === undefined) throw new SecretsNotInitializedError();
    return this.runtime;
  }

  /** Stores a new version (creating the secret on first use) and makes it current; clears its cache entry. */
  async setSecret(
    name: string,
    value: string,
    options?: SetSecretOptions,
  ): Promise<SecretMetadata> {
    return this.ready().writer.setSecret(name, value, options);
  }

  /** A new current value for an existing secret; the old one becomes `previous`. The cache entry goes at once. */
  async rotateSecret(
    name: string,
    newValue: string,
    options?: ActorOptions,
  ): Promise<SecretMetadata> {
    return this.ready().writer.rotateSecret(name, newValue, options);
  }

  /** Soft delete, undone by recoverSecret() within the recovery window. */
  async deleteSecret(name: string, options?: ActorOptions): Promise<SecretMetadata> {
    return this.ready().writer.deleteSecret(name, options);
  }

  async recoverSecret(name: string, options?: ActorOptions): Promise<SecretMetadata> {
    return this.ready().writer.recoverSecret(name, options);
  }

  /** Removes a deleted secret and every version for good. */
  async destroySecret(name: string, options?: ActorOptions): Promise<SecretMetadata> {
    return this.ready().writer.destroySecret(name, options);
  }

  /**
   * The metadata snapshot of live secrets, plus `artifact`: an encrypted, self-contained export
   * (wrapped data keys, every secret and version as stored) for restoreSecrets(). No value is
   * decrypted to make it.
   */
  async backupSecrets(options?: ActorOptions): Promise<SecretsBackupResult> {
    return this.ready().backups.backup(options);
  }

  /**
   * Loads a backupSecrets() artifact into this database (empty or not) under the same master
   * key. Refused whole, nothing written, when the artifact was altered or a secret here has
   * other content (SecretRestoreConflictError); restoring twice is harmless.
   */
  async restoreSecrets(artifact: unknown, options?: ActorOptions): Promise<SecretsRestoreResult> {
    return this.ready().backups.restore(artifact, options);
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
    return this.ready().lifecycle.run();
  }

  /** Before any module closes its connections (KmsStorage closes the DataSource on shutdown). */
  async beforeApplicationShutdown(): Promise<void> {
    await this.runtime?.lifecycle.stop();
    await this.runtime?.audit.close();
  }

  onApplicationShutdown(): void {
    for (const unsubscribe of this.unsubscribe.splice(0)) unsubscribe();
    this.runtime?.reader.clear();
    this.changeStream.complete();
  }

  /** The current value (or `{ version }`'s). Expired, deleted or unknown: SecretNotFoundError and subclasses. */
  async getSecret(name: string, options: GetSecretOptions = {}): Promise<string> {
    const { reader, audit } = this.ready();
    const started = performance.now();
    try {
      // Even on a hit: one bad actor would fail the whole buffered audit batch later.
      checkActor(options.actor);
      if (options.version === undefined) {
        const hit = reader.cache.get(name);
        if (hit !== undefined) {
          const audited = audit.record({
            action: 'read',
            secretName: name,
            version: hit.version,
            actor: options.actor,
            outcome: 'success',
          });
          if (audited) await audited;
          return hit.value;
        }
      }
      const entry = {
        action: 'read',
        secretName: name,
        version: options.version,
        actor: options.actor,
      } as const;
      return await audit.guard(entry, async () => {
        const loaded = await reader.load(name, options.version);
        await audit.record({ ...entry, version: loaded.version, outcome: 'success' });
        return loaded.value;
      });
    } finally {
      this.metrics.retrievalLatency.observe((performance.now() - started) / 1000);
    }
  }

  /** Metadata of live secrets (no values), optionally those with tag `key` or `key=value`. */
  async listSecrets(options: ListSecretsOptions = {}): Promise<SecretMetadata[]> {
    const { store, audit } = this.ready();
    checkActor(options.actor);
    const rows = await store.listLive();
    const secrets = rows
      .map(toMetadata)
      .filter((secret) => options.tag === undefined || matchesTag(secret.tags, options.tag));
    await audit.record({ action: 'list', actor: options.actor, outcome: 'success' });
    return secrets;
  }

  /** Version history of a secret, newest first: metadata only. */
  async listSecretVersions(name: string): Promise<SecretVersionMetadata[]> {
    const { store } = this.ready();
    checkName(name);
    const secret = await store.find(name);
    if (!secret) throw new SecretNotFoundError(name);
    const versions = await store.listVersions(name);
    return versions.map((version) => toVersionMetadata(version, secret.currentVersion));
  }

  /** Changes of one secret (or all, without a name): no values, only names, versions and reasons. */
  watch(name?: string): Observable<SecretChange> {
    return name === undefined
      ? this.changeStream.asObservable()
      : this.changeStream.pipe(filter((change) => change.name === name));
  }

  /** Forgets every cached value: the next reads go to the database. */
  clearCache(): void {
    this.ready().reader.clear();
  }

  async getStatus(): Promise<SecretsStatus> {
    const { store, reader, lifecycle } = this.ready();
    const counts = await store.counts(this.options.clock());
    return {
      cacheSize: reader.cache.size,
      cacheHits: reader.cache.hits,
      cacheMisses: reader.cache.misses,
      cacheHitRate: reader.cache.hitRate,
      ...lifecycle.counters(),
      kmsStatus: { ...this.kms.getStatus(), ...counts },
    };
  }

  private changed(change: SecretChange): void {
    this.runtime?.reader.invalidate(change.name);
    this.changeStream.next(change);
  }

  /**
   * Another replica's change drops the cached value and reaches watch() as a local one would.
   * After a lost connection, every cached value goes and every stored secret is announced, since
   * changes made meanwhile were not heard (a secret destroyed meanwhile is not: it has no row).
   */
  private followOtherReplicas({ reader, store }: SecretsRuntime): void {
    this.unsubscribe.push(
      this.notifications.subscribe((notification) => {
        const change = SecretChangeFeed.fromNotification(notification);
        if (change) this.changed(change);
      }),
      this.notifications.onResync(async () => {
        reader.clear();
        for (const secret of await store.listAll()) {
          this.changeStream.next({
            name: secret.name,
            version: secret.deletedAt === null ? secret.currentVersion : null,
            reason: 'resynced',
          });
        }
      }),
    );
  }
}
