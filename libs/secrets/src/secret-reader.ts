import { Logger } from '@nestjs/common';
import type { KmsService } from '@nest-kms/kms';
import { SecretCache } from './cache/secret-cache.js';
import { SecretDeletedError } from './errors/secret-deleted.error.js';
import { SecretExpiredError } from './errors/secret-expired.error.js';
import { SecretNotFoundError } from './errors/secret-not-found.error.js';
import { SecretVersionNotFoundError } from './errors/secret-version-not-found.error.js';
import { openSecretValue } from './secret-values.js';
import { SECRETS_EVENTS } from './secrets.messages.js';
import type { ResolvedSecretsOptions } from './secrets.options.js';
import type { SecretsStore } from './secrets.store.js';
import { checkName, checkVersion } from './secrets.validation.js';

export interface LoadedSecret {
  value: string;
  version: number;
}

/**
 * Reading values: the cache, misses that share one database read, older versions, expiry.
 * A miss is one primary-key read and one decryption.
 */
export class SecretReader {
  private readonly logger = new Logger('SecretsService');
  readonly cache: SecretCache;
  private readonly inflight = new Map<string, Promise<LoadedSecret>>();
  /** Bumped by every write: a miss that began before one does not fill the cache. */
  private writes = 0;

  constructor(
    private readonly kms: KmsService,
    private readonly store: SecretsStore,
    private readonly options: ResolvedSecretsOptions,
  ) {
    this.cache = new SecretCache(options.cacheTtlMs, options.cacheMaxEntries, options.clock);
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

const dateOf = (epochMs: number | null): Date | null =>
  epochMs === null ? null : new Date(epochMs);
