import { performance } from 'node:perf_hooks';
import { Logger } from '@nestjs/common';
import type { KmsService } from '@nest-kms/kms';
import type { SecretsAudit } from './audit/secrets-audit.js';
import type { SecretCache } from './cache/secret-cache.js';
import { SecretDeletedError } from './errors/secret-deleted.error.js';
import { SecretExpiredError } from './errors/secret-expired.error.js';
import { SecretNotFoundError } from './errors/secret-not-found.error.js';
import { SecretVersionNotFoundError } from './errors/secret-version-not-found.error.js';
import type {
  GetSecretOptions,
  ListSecretsOptions,
  SecretMetadata,
  SecretsStatus,
  SecretVersionMetadata,
} from './interfaces/secret-operations.interface.js';
import { EpochClock } from './epoch-clock.js';
import { dateOf, toMetadata, toVersionMetadata } from './secret.mapping.js';
import { openSecretValue } from './secret-values.js';
import { SECRETS_EVENTS } from './secrets.messages.js';
import type { ResolvedSecretsOptions } from './secrets.options.js';
import type { SecretsMetrics } from './secrets-metrics.js';
import type { SecretsStore } from './secrets.store.js';
import { checkActor, checkName, checkVersion, matchesTag } from './secrets.validation.js';

export interface LoadedSecret {
  value: string;
  version: number;
}

/**
 * Reading values: the cache, misses that share one database read, older versions, expiry, and
 * each read's audit record and latency. A hit touches no database (its audit record is buffered);
 * a miss is one primary-key read and one decryption.
 */
export class SecretReader {
  private readonly logger = new Logger('SecretsService');
  private readonly inflight = new Map<string, Promise<LoadedSecret>>();
  /** Bumped by every write: a miss that began before one does not fill the cache. */
  private writes = 0;
  private readonly clock: EpochClock;

  constructor(
    private readonly kms: KmsService,
    private readonly store: SecretsStore,
    readonly cache: SecretCache,
    private readonly audit: SecretsAudit,
    private readonly metrics: SecretsMetrics,
    private readonly options: ResolvedSecretsOptions,
  ) {
    this.clock = new EpochClock(options.clock);
  }

  /** SecretsService.getSecret: the value, audited, its latency observed whatever the outcome. */
  getSecret(name: string, options?: GetSecretOptions): Promise<string> {
    const started = performance.now();
    let answer: Promise<string>;
    try {
      const actor = options?.actor;
      // Even on a hit: one bad actor would fail the whole buffered audit batch later.
      checkActor(actor);
      const version = options?.version;
      // The latency's start also dates a hit: its entry's freshness and its audit record.
      const at = version === undefined ? this.clock.at(started) : 0;
      const hit = version === undefined ? this.cache.get(name, at) : undefined;
      if (hit === undefined) {
        answer = this.readAudited(name, version, actor);
      } else {
        const audited = this.audit.recordCachedRead(name, hit.version, actor, at);
        if (audited === undefined) {
          // The record buffered, as it mostly is: the hit is answered with no other promise.
          this.observeSince(started);
          return Promise.resolve(hit.value);
        }
        answer = audited.then(() => hit.value);
      }
    } catch (error) {
      this.observeSince(started);
      return Promise.reject(error as Error);
    }
    return this.timed(started, answer);
  }

  private async timed(started: number, answer: Promise<string>): Promise<string> {
    try {
      return await answer;
    } finally {
      this.observeSince(started);
    }
  }

  private observeSince(started: number): void {
    this.metrics.retrievalLatency.observe((performance.now() - started) / 1000);
  }

  /** A read from the database, its audit record written or buffered, a refusal recorded too. */
  private readAudited(
    name: string,
    version: number | undefined,
    actor: string | undefined,
  ): Promise<string> {
    const entry = {
      action: 'read',
      secretName: name,
      version,
      actor,
    } as const;
    return this.audit.guard(entry, async () => {
      const loaded = await this.load(name, version);
      await this.audit.record({ ...entry, version: loaded.version, outcome: 'success' });
      return loaded.value;
    });
  }

  /** SecretsService.listSecrets: metadata of live secrets, optionally filtered by a tag; audited. */
  async listSecrets(options: ListSecretsOptions = {}): Promise<SecretMetadata[]> {
    checkActor(options.actor);
    const rows = await this.store.listLive();
    const secrets = rows
      .map(toMetadata)
      .filter((secret) => options.tag === undefined || matchesTag(secret.tags, options.tag));
    await this.audit.record({ action: 'list', actor: options.actor, outcome: 'success' });
    return secrets;
  }

  /** SecretsService.listSecretVersions: a secret's versions, newest first, metadata only. */
  async listSecretVersions(name: string): Promise<SecretVersionMetadata[]> {
    checkName(name);
    const secret = await this.store.find(name);
    if (!secret) throw new SecretNotFoundError(name);
    const versions = await this.store.listVersions(name);
    return versions.map((version) => toVersionMetadata(version, secret.currentVersion));
  }

  /** The current value, from the database (concurrent calls for a name share one read). */
  load(name: string, version?: number): Promise<LoadedSecret> {
    if (version !== undefined) return this.loadVersion(name, version);
    let loading = this.inflight.get(name);
    if (!loading) {
      loading = this.fetchCurrent(name).finally(() => {
        if (this.inflight.get(name) === loading) this.inflight.delete(name);
      });
      this.inflight.set(name, loading);
    }
    return loading;
  }

  cacheCounters(): Pick<SecretsStatus, 'cacheSize' | 'cacheHits' | 'cacheMisses' | 'cacheHitRate'> {
    const { size, hits, misses, hitRate } = this.cache;
    return { cacheSize: size, cacheHits: hits, cacheMisses: misses, cacheHitRate: hitRate };
  }

  /** A write changed `name`: drop what is cached or being read for it. */
  invalidate(name: string): void {
    this.writes++;
    this.cache.delete(name);
    this.inflight.delete(name);
  }

  clear(): void {
    this.writes++;
    this.cache.clear();
    this.inflight.clear();
  }

  private async fetchCurrent(name: string): Promise<LoadedSecret> {
    checkName(name);
    const writesBefore = this.writes;
    const row = await this.store.readCurrent(name);
    if (row === undefined) throw new SecretNotFoundError(name);
    if (row.deletedAt !== null) throw new SecretDeletedError(name, dateOf(row.recoverableUntil));
    this.checkExpiry(name, row.currentVersion, row.expiresAt);
    const value = await openSecretValue(this.kms, name, row.currentVersion, row.currentEnvelope);
    if (this.writes === writesBefore)
      this.cache.set(name, value, row.currentVersion, row.expiresAt);
    this.logger.debug({ event: SECRETS_EVENTS.read, name, version: row.currentVersion });
    return { value, version: row.currentVersion };
  }

  private async loadVersion(name: string, version: number): Promise<LoadedSecret> {
    checkName(name);
    checkVersion(version);
    const secret = await this.store.find(name);
    if (!secret) throw new SecretNotFoundError(name);
    if (secret.deletedAt !== null)
      throw new SecretDeletedError(name, dateOf(secret.recoverableUntil));
    const row = await this.store.findVersion(name, version);
    if (!row) throw new SecretVersionNotFoundError(name, version);
    this.checkExpiry(name, version, row.expiresAt);
    const value = await openSecretValue(this.kms, name, version, row.envelope);
    this.logger.debug({ event: SECRETS_EVENTS.read, name, version });
    return { value, version };
  }

  private checkExpiry(name: string, version: number, expiresAt: number | null): void {
    if (expiresAt !== null && expiresAt <= this.options.clock()) {
      const expiredAt = new Date(expiresAt);
      // secret_expired itself is the sweep's, once per secret; this is every refused read.
      this.logger.warn({
        event: SECRETS_EVENTS.readExpired,
        name,
        version,
        expiredAt: expiredAt.toISOString(),
      });
      throw new SecretExpiredError(name, expiredAt);
    }
  }
}
