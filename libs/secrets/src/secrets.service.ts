import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import type { SchedulerRegistry } from '@nestjs/schedule';
import { Subject, filter, type Observable } from 'rxjs';
import {
  KMS_SCHEDULER_REGISTRY,
  KmsMetrics,
  KmsNotifications,
  KmsService,
  KmsStorage,
} from '@nest-kms/kms';
import { SecretsAudit } from './audit/secrets-audit.js';
import { SecretsBackup } from './backup/secrets-backup.js';
import type {
  SecretsBackupResult,
  SecretsRestoreResult,
} from './backup/secrets-backup.interface.js';
import { SecretNotFoundError } from './errors/secret-not-found.error.js';
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
import { SecretsLifecycle } from './lifecycle/secrets-lifecycle.js';
import { SecretChangeFeed } from './secret-change-feed.js';
import { SecretsMetrics } from './secrets-metrics.js';
import { SecretReader } from './secret-reader.js';
import { SecretWriter } from './secret-writer.js';
import { toMetadata, toVersionMetadata } from './secret.mapping.js';
import {
  SECRETS_ENTITIES,
  SECRETS_ENVELOPE_COLUMNS,
  SECRETS_MIGRATIONS,
  SECRETS_RESOLVED_OPTIONS,
} from './secrets.constants.js';
import type { ResolvedSecretsOptions } from './secrets.options.js';
import { SecretsStore } from './secrets.store.js';
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
  private readonly now: () => number;
  private store!: SecretsStore;
  private audit!: SecretsAudit;
  private writer!: SecretWriter;
  private starting: Promise<void> | undefined;
  private backups!: SecretsBackup;
  private reader!: SecretReader;
  private readonly changeStream = new Subject<SecretChange>();
  private readonly rotators = new SecretRotators();
  private lifecycle!: SecretsLifecycle;
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
  ) {
    this.now = options.clock;
    this.metrics = new SecretsMetrics(kmsMetrics, () => this.reader?.cache.hitRate ?? 0);
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
    const dataSource = await this.storage.dataSource();
    this.store = new SecretsStore(dataSource, this.storage);
    this.reader = new SecretReader(this.kms, this.store, this.options);
    this.audit = new SecretsAudit(
      this.storage,
      this.options.auditFailClosed,
      this.options.auditFlushIntervalMs,
      this.now,
    );
    this.writer = new SecretWriter(this.kms, this.store, this.audit, this.options, this.changes);
    this.backups = new SecretsBackup(
      this.kms,
      dataSource,
      this.store,
      this.audit,
      this.now,
      this.changes,
    );
    this.followOtherReplicas();
    this.lifecycle = new SecretsLifecycle(this.scheduler, {
      kms: this.kms,
      storage: this.storage,
      store: this.store,
      writer: this.writer,
      audit: this.audit,
      rotators: this.rotators,
      options: this.options,
      metrics: this.metrics,
    });
    this.lifecycle.start(this.options.lifecycleCheckIntervalMs);
  }

  /** Stores a new version (creating the secret on first use) and makes it current; clears its cache entry. */
  setSecret(name: string, value: string, options?: SetSecretOptions): Promise<SecretMetadata> {
    return this.writer.setSecret(name, value, options);
  }

  /** A new current value for an existing secret; the old one becomes `previous`. The cache entry goes at once. */
  rotateSecret(name: string, newValue: string, options?: ActorOptions): Promise<SecretMetadata> {
    return this.writer.rotateSecret(name, newValue, options);
  }

  /** Soft delete, undone by recoverSecret() within the recovery window. */
  deleteSecret(name: string, options?: ActorOptions): Promise<SecretMetadata> {
    return this.writer.deleteSecret(name, options);
  }

  recoverSecret(name: string, options?: ActorOptions): Promise<SecretMetadata> {
    return this.writer.recoverSecret(name, options);
  }

  /** Removes a deleted secret and every version for good. */
  destroySecret(name: string, options?: ActorOptions): Promise<SecretMetadata> {
    return this.writer.destroySecret(name, options);
  }

  /**
   * The metadata snapshot of live secrets, plus `artifact`: an encrypted, self-contained export
   * (wrapped data keys, every secret and version as stored) for restoreSecrets(). No value is
   * decrypted to make it.
   */
  backupSecrets(options?: ActorOptions): Promise<SecretsBackupResult> {
    return this.backups.backup(options);
  }

  /**
   * Loads a backupSecrets() artifact into this database (empty or not) under the same master
   * key. Refused whole, nothing written, when the artifact was altered or a secret here has
   * other content (SecretRestoreConflictError); restoring twice is harmless.
   */
  restoreSecrets(artifact: unknown, options?: ActorOptions): Promise<SecretsRestoreResult> {
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
  runLifecycle(): Promise<SecretsLifecycleReport> {
    return this.lifecycle.run();
  }

  /** Before any module closes its connections (KmsStorage closes the DataSource on shutdown). */
  async beforeApplicationShutdown(): Promise<void> {
    await this.lifecycle?.stop();
    await this.audit?.flush();
  }

  onApplicationShutdown(): void {
    for (const unsubscribe of this.unsubscribe.splice(0)) unsubscribe();
    this.reader?.clear();
    this.changeStream.complete();
  }

  /** The current value (or `{ version }`'s). Expired, deleted or unknown: SecretNotFoundError and subclasses. */
  async getSecret(name: string, options: GetSecretOptions = {}): Promise<string> {
    const started = performance.now();
    try {
      // Even on a hit: one bad actor would fail the whole buffered audit batch later.
      checkActor(options.actor);
      if (options.version === undefined) {
        const hit = this.reader.cache.get(name);
        if (hit !== undefined) {
          const audited = this.audit.record({
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
      return await this.audit.guard(entry, async () => {
        const loaded = await this.reader.load(name, options.version);
        await this.audit.record({ ...entry, version: loaded.version, outcome: 'success' });
        return loaded.value;
      });
    } finally {
      this.metrics.retrievalLatency.observe((performance.now() - started) / 1000);
    }
  }

  /** Metadata of live secrets (no values), optionally those with tag `key` or `key=value`. */
  async listSecrets(options: ListSecretsOptions = {}): Promise<SecretMetadata[]> {
    checkActor(options.actor);
    const rows = await this.store.listLive();
    const secrets = rows
      .map(toMetadata)
      .filter((secret) => options.tag === undefined || matchesTag(secret.tags, options.tag));
    await this.audit.record({ action: 'list', actor: options.actor, outcome: 'success' });
    return secrets;
  }

  /** Version history of a secret, newest first: metadata only. */
  async listSecretVersions(name: string): Promise<SecretVersionMetadata[]> {
    checkName(name);
    const secret = await this.store.find(name);
    if (!secret) throw new SecretNotFoundError(name);
    const versions = await this.store.listVersions(name);
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
    this.reader?.clear();
  }

  async getStatus(): Promise<SecretsStatus> {
    const counts = await this.store.counts(this.now());
    return {
      cacheSize: this.reader.cache.size,
      cacheHits: this.reader.cache.hits,
      cacheMisses: this.reader.cache.misses,
      cacheHitRate: this.reader.cache.hitRate,
      ...this.lifecycle.counters(),
      kmsStatus: { ...this.kms.getStatus(), ...counts },
    };
  }

  private changed(change: SecretChange): void {
    this.reader.invalidate(change.name);
    this.changeStream.next(change);
  }

  /**
   * Another replica's change drops the cached value and reaches watch() as a local one would.
   * After a lost connection, every cached value goes and every stored secret is announced, since
   * changes made meanwhile were not heard (a secret destroyed meanwhile is not: it has no row).
   */
  private followOtherReplicas(): void {
    this.unsubscribe.push(
      this.notifications.subscribe((notification) => {
        const change = SecretChangeFeed.fromNotification(notification);
        if (change) this.changed(change);
      }),
      this.notifications.onResync(async () => {
        this.reader.clear();
        for (const secret of await this.store.listAll()) {
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
