import { performance } from 'node:perf_hooks';
import { NestKmsError } from '@nest-kms/kms';
import type { ActorBlocklist } from '@nest-kms/kms/extension';
import type { SecretsAudit } from './audit/secrets-audit.js';
import type { SecretCache } from './cache/secret-cache.js';
import type {
  ActorOptions,
  GetSecretOptions,
  SecretReadResult,
  SecretsStatus,
} from './interfaces/secret-operations.interface.js';
import { checkBatchNames } from './listing/listing.validation.js';
import { EpochClock } from './epoch-clock.js';
import type { LoadedSecret, SecretLoader } from './secret-loader.js';
import type { ResolvedSecretsOptions } from './secrets.options.js';
import type { SecretsMetrics } from './secrets-metrics.js';
import { checkActor } from './secrets.validation.js';
import { mayBeCached, storedName, UNTENANTED, type SecretScope } from './secret-scope.js';

/**
 * Reading values: the cache, what SecretLoader reads on a miss, and each read's audit record
 * and latency. A hit touches no database (its audit record is buffered); a miss is one
 * primary-key read and one decryption, and a batch's misses share one query.
 */
export class SecretReader {
  private readonly clock: EpochClock;

  constructor(
    private readonly loader: SecretLoader,
    readonly cache: SecretCache,
    private readonly audit: SecretsAudit,
    private readonly metrics: SecretsMetrics,
    options: ResolvedSecretsOptions,
    /** Actors threat detection (or an operator) refuses for a while: refused before the cache. */
    private readonly blocklist: ActorBlocklist,
  ) {
    this.clock = new EpochClock(options.clock);
  }

  /**
   * SecretsService.getSecret: the value, audited, its latency observed whatever the outcome.
   * `name` is the caller's, in `scope`; the cache and the audit record use its stored name.
   */
  getSecret(name: string, options?: GetSecretOptions, scope = UNTENANTED): Promise<string> {
    const started = performance.now();
    let answer: Promise<string>;
    try {
      const actor = options?.actor;
      // Even on a hit: one bad actor would fail the whole buffered audit batch later.
      checkActor(actor);
      const version = options?.version;
      // The latency's start also dates a hit: its entry's freshness and its audit record.
      const at = version === undefined ? this.clock.at(started) : 0;
      const refusal = this.blocklist.refusal(actor);
      const stored = storedName(scope, name);
      const hit =
        version === undefined && !refusal && mayBeCached(scope, name)
          ? this.cache.get(stored, at)
          : undefined;
      if (refusal !== undefined) {
        answer = this.refused(stored, version, actor, refusal);
      } else if (hit === undefined) {
        answer = this.readAudited(name, version, actor, scope);
      } else {
        const audited = this.audit.recordCachedRead(stored, hit.version, actor, at);
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

  /** A blocked actor's read: refused, and the refusal recorded. */
  private refused(
    name: string,
    version: number | undefined,
    actor: string | undefined,
    refusal: Error,
  ): Promise<never> {
    return this.audit.guard({ action: 'read', secretName: name, version, actor }, () =>
      Promise.reject(refusal),
    );
  }

  /** A read from the database, its audit record written or buffered, a refusal recorded too. */
  private async readAudited(
    name: string,
    version: number | undefined,
    actor: string | undefined,
    scope: SecretScope,
  ): Promise<string> {
    const loading = () => this.loader.load(name, version, scope);
    return (await this.auditedLoad(storedName(scope, name), version, actor, loading)).value;
  }

  private auditedLoad(
    name: string,
    version: number | undefined,
    actor: string | undefined,
    loading: () => Promise<LoadedSecret>,
  ): Promise<LoadedSecret> {
    const entry = { action: 'read', secretName: name, version, actor } as const;
    return this.audit.guard(entry, async () => {
      const loaded = await loading();
      await this.audit.record({ ...entry, version: loaded.version, outcome: 'success' });
      return loaded;
    });
  }

  /**
   * SecretsService.getSecrets: per name, in order, its current value or what getSecret() would
   * have thrown. Hits come from the cache; the misses are read in one query (names another
   * read is already loading join it); every name is audited as a getSecret() is.
   */
  async getSecrets(
    names: readonly string[],
    options: ActorOptions = {},
    scope = UNTENANTED,
  ): Promise<SecretReadResult[]> {
    const started = performance.now();
    try {
      const actor = options.actor;
      checkActor(actor);
      checkBatchNames(names);
      const stored = names.map((name) => storedName(scope, name));
      const refusal = this.blocklist.refusal(actor);
      if (refusal !== undefined) {
        // A blocked actor: every name refused (none from the cache), each refusal recorded.
        const refused = await Promise.allSettled(
          stored.map((name) => this.refused(name, undefined, actor, refusal)),
        );
        return refused.map((outcome, i) =>
          failureResult(names[i], (outcome as PromiseRejectedResult).reason),
        );
      }
      const at = this.clock.at(started);
      const hits = names.map((name, i) =>
        mayBeCached(scope, name) ? this.cache.get(stored[i], at) : undefined,
      );
      const loads = this.loader.loadMany(
        names.filter((_, i) => hits[i] === undefined),
        scope,
      );
      const results: SecretReadResult[] = [];
      const waits: Promise<void>[] = [];
      const settle = (i: number, answer: Promise<LoadedSecret>) =>
        waits.push(
          answer.then(
            (loaded) => void (results[i] = valueResult(names[i], loaded)),
            (error: unknown) => void (results[i] = failureResult(names[i], error)),
          ),
        );
      for (let i = 0; i < names.length; i++) {
        const name = names[i];
        const hit = hits[i];
        if (hit === undefined) {
          settle(
            i,
            this.auditedLoad(
              stored[i],
              undefined,
              actor,
              () => loads.get(name) ?? this.loader.load(name, undefined, scope),
            ),
          );
          continue;
        }
        const audited = this.audit.recordCachedRead(stored[i], hit.version, actor, at);
        // A buffered record, as it mostly is: the hit is answered without a promise of its own.
        if (audited === undefined) results[i] = valueResult(name, hit);
        else
          settle(
            i,
            audited.then(() => hit),
          );
      }
      await Promise.all(waits);
      return results;
    } finally {
      this.observeSince(started);
    }
  }

  cacheCounters(): Pick<SecretsStatus, 'cacheSize' | 'cacheHits' | 'cacheMisses' | 'cacheHitRate'> {
    const { size, hits, misses, hitRate } = this.cache;
    return { cacheSize: size, cacheHits: hits, cacheMisses: misses, cacheHitRate: hitRate };
  }

  /** A write changed `name`: drop what is cached or being read for it. */
  invalidate(name: string): void {
    this.loader.invalidate(name);
  }

  clear(): void {
    this.loader.clear();
  }

  /** A data key (`keyId`) or a tenant's keys (names starting with `prefix`) were destroyed. */
  evict(match: { keyId?: string; prefix?: string }): void {
    this.loader.evict(match);
  }
}

const valueResult = (name: string, loaded: LoadedSecret): SecretReadResult => ({
  name,
  ok: true,
  value: loaded.value,
  version: loaded.version,
});

/** A name's refusal as getSecrets() answers it; an error no caller could expect goes on. */
function failureResult(name: string, error: unknown): SecretReadResult {
  if (error instanceof NestKmsError) return { name, ok: false, error };
  throw error;
}
