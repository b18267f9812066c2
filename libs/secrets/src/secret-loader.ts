import { Logger } from '@nestjs/common';
import type { KmsService } from '@nest-kms/kms';
import type { SecretCache } from './cache/secret-cache.js';
import { SecretDeletedError } from './errors/secret-deleted.error.js';
import { SecretExpiredError } from './errors/secret-expired.error.js';
import { SecretNotFoundError } from './errors/secret-not-found.error.js';
import { SecretVersionNotFoundError } from './errors/secret-version-not-found.error.js';
import { dateOf } from './secret.mapping.js';
import { storedName, UNTENANTED, type SecretScope } from './secret-scope.js';
import { openSecretValue, openSecretValueKept } from './secret-values.js';
import { SECRETS_EVENTS } from './secrets.messages.js';
import type { ResolvedSecretsOptions } from './secrets.options.js';
import type { CurrentSecretRow, SecretsStore } from './secrets.store.js';
import { checkName, checkVersion, SECRET_NAME_PATTERN } from './secrets.validation.js';

export interface LoadedSecret {
  value: string;
  version: number;
}

/**
 * The database side of reading values: one read at a time per name (concurrent misses share
 * it), several misses in one query, expiry and deletion refused, the value decrypted and cached
 * unless a write came meanwhile. SecretReader audits and times what this loads.
 */
export class SecretLoader {
  private readonly logger = new Logger('SecretsService');
  private readonly inflight = new Map<string, Promise<LoadedSecret>>();
  /** Bumped by every write: a miss that began before one does not fill the cache. */
  private writes = 0;

  constructor(
    private readonly kms: KmsService,
    private readonly store: SecretsStore,
    private readonly cache: SecretCache,
    private readonly options: ResolvedSecretsOptions,
  ) {}

  /**
   * The current value, from the database (concurrent calls for a name share one read). `name`
   * is the caller's, in `scope`; what is cached and refused is under its stored name.
   */
  load(name: string, version?: number, scope = UNTENANTED): Promise<LoadedSecret> {
    if (version !== undefined) return this.loadVersion(name, version, scope);
    const stored = storedName(scope, name);
    let loading = this.inflight.get(stored);
    if (!loading) {
      loading = this.fetchCurrent(name, stored).finally(() => {
        if (this.inflight.get(stored) === loading) this.inflight.delete(stored);
      });
      this.inflight.set(stored, loading);
    }
    return loading;
  }

  /** A write changed `name` (a stored name): drop what is cached or being read for it. */
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

  /**
   * Drops what is cached or being read under data key `keyId` or in a stored-name range
   * starting with `prefix` (a destroyed key's or tenant's values): reads in flight do not
   * fill the cache.
   */
  evict(match: { keyId?: string; prefix?: string }): void {
    this.writes++;
    this.cache.deleteWhere(match);
    if (match.prefix !== undefined) {
      for (const name of this.inflight.keys()) {
        if (name.startsWith(match.prefix)) this.inflight.delete(name);
      }
    } else this.inflight.clear();
  }

  /**
   * load() of several valid names (others are left out): those another read is loading join
   * it, the rest are read in one query. Each name's promise, by name.
   */
  loadMany(names: readonly string[], scope = UNTENANTED): Map<string, Promise<LoadedSecret>> {
    const loads = new Map<string, Promise<LoadedSecret>>();
    /** Stored names not being read, by the caller's name. */
    const unread = new Map<string, string>();
    for (const name of names) {
      if (!SECRET_NAME_PATTERN.test(name)) continue;
      const stored = storedName(scope, name);
      const loading = this.inflight.get(stored);
      if (loading) loads.set(name, loading);
      else unread.set(name, stored);
    }
    if (unread.size === 0) return loads;
    const writesBefore = this.writes;
    const rows = this.store.readCurrentMany([...unread.values()]);
    for (const [name, stored] of unread) {
      const loading: Promise<LoadedSecret> = rows
        .then((found) => this.opened(stored, found.get(stored), writesBefore))
        .finally(() => {
          if (this.inflight.get(stored) === loading) this.inflight.delete(stored);
        });
      this.inflight.set(stored, loading);
      loads.set(name, loading);
    }
    return loads;
  }

  private async fetchCurrent(name: string, stored: string): Promise<LoadedSecret> {
    checkName(name);
    const writesBefore = this.writes;
    return this.opened(stored, await this.store.readCurrent(stored), writesBefore);
  }

  /** A current row's value, cached unless a write came after `writesBefore`; else why not. */
  private async opened(
    name: string,
    row: CurrentSecretRow | undefined,
    writesBefore: number,
  ): Promise<LoadedSecret> {
    if (row === undefined) throw new SecretNotFoundError(name);
    if (row.deletedAt !== null) throw new SecretDeletedError(name, dateOf(row.recoverableUntil));
    this.checkExpiry(name, row.currentVersion, row.expiresAt);
    const { value, keepUntil } = await openSecretValueKept(
      this.kms,
      name,
      row.currentVersion,
      row.currentEnvelope,
    );
    if (this.writes === writesBefore) {
      const staleAt = Math.min(row.expiresAt ?? Infinity, keepUntil);
      this.cache.set(name, value, row.currentVersion, staleAt, row.currentKeyId);
    }
    this.logger.debug({ event: SECRETS_EVENTS.read, name, version: row.currentVersion });
    return { value, version: row.currentVersion };
  }

  private async loadVersion(
    given: string,
    version: number,
    scope: SecretScope,
  ): Promise<LoadedSecret> {
    checkName(given);
    checkVersion(version);
    const name = scope.prefix + given;
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
