import type { Provider } from '@nestjs/common';
import type { SchedulerRegistry } from '@nestjs/schedule';
import { KmsMetrics, KmsService } from '@nest-kms/kms';
import {
  ActorBlocklist,
  KMS_SCHEDULER_REGISTRY,
  KmsNotifications,
  KmsSecurityEvents,
  KmsStorage,
  SealedExports,
  keyringSubkey,
} from '@nest-kms/kms/extension';
import { AuditChain } from './audit/audit-chain.js';
import { AuditSealing } from './audit/audit-sealing.js';
import { KmsSecurityTrail } from './audit/kms-security-trail.js';
import { SecretsAuditTrail } from './audit/secrets-audit-trail.js';
import { AuditBuffer } from './audit/audit-buffer.js';
import { SecretsAudit } from './audit/secrets-audit.js';
import { SecretsBackup } from './backup/secrets-backup.js';
import { SecretCache } from './cache/secret-cache.js';
import type { SecretsModuleOptions } from './interfaces/secrets-module-options.interface.js';
import { AutoRotation } from './lifecycle/auto-rotation.js';
import { ExpirySweep } from './lifecycle/expiry-sweep.js';
import { LifecycleStore } from './lifecycle/lifecycle.store.js';
import { SecretRotators } from './lifecycle/secret-rotators.js';
import { SecretsLifecycle } from './lifecycle/secrets-lifecycle.js';
import { SecretListing } from './listing/secret-listing.js';
import { SecretChangeFeed } from './secret-change-feed.js';
import { DestroyedKeysEviction } from './cache/destroyed-keys-eviction.js';
import { SecretLoader } from './secret-loader.js';
import { SecretReader } from './secret-reader.js';
import { SecretRef } from './secret-ref.js';
import { SecretWriter } from './secret-writer.js';
import { SecretsMetrics } from './secrets-metrics.js';
import { SECRETS_RESOLVED_OPTIONS } from './secrets.constants.js';
import { MODULE_OPTIONS_TOKEN } from './secrets.module-definition.js';
import { resolveSecretsOptions, type ResolvedSecretsOptions } from './secrets.options.js';
import { SecretsService } from './secrets.service.js';
import { SecretsStore } from './secrets.store.js';
import { getSecretToken } from './secrets.utils.js';
import { checkName } from './secrets.validation.js';

const OPTIONS = SECRETS_RESOLVED_OPTIONS;

/**
 * Everything SecretsService works with, one provider each (the class is the token), so a test
 * can replace any of them with `overrideProvider`. The KMS's providers come from KmsModule:
 * global by default, else through SecretsModule.forRoot({ imports }).
 */
export const SECRETS_PROVIDERS: Provider[] = [
  {
    provide: OPTIONS,
    useFactory: (options: SecretsModuleOptions) => resolveSecretsOptions(options),
    inject: [MODULE_OPTIONS_TOKEN],
  },
  {
    provide: SecretsStore,
    useFactory: (storage: KmsStorage) => new SecretsStore(storage),
    inject: [KmsStorage],
  },
  {
    provide: SecretCache,
    useFactory: (o: ResolvedSecretsOptions) =>
      new SecretCache(
        { ttlMs: o.cacheTtlMs, maxEntries: o.cacheMaxEntries, maxBytes: o.cacheMaxBytes },
        o.clock,
      ),
    inject: [OPTIONS],
  },
  {
    provide: SecretsMetrics,
    useFactory: (kmsMetrics: KmsMetrics, cache: SecretCache) =>
      new SecretsMetrics(kmsMetrics, () => cache.hitRate),
    inject: [KmsMetrics, SecretCache],
  },
  {
    provide: AuditBuffer,
    useFactory: (storage: KmsStorage, o: ResolvedSecretsOptions, metrics: SecretsMetrics) =>
      new AuditBuffer(
        storage,
        {
          flushIntervalMs: o.auditFlushIntervalMs,
          retryIntervalMs: o.auditRetryIntervalMs,
          maxRecords: o.auditMaxBufferedRecords,
        },
        metrics.audit,
      ),
    inject: [KmsStorage, OPTIONS, SecretsMetrics],
  },
  {
    provide: SecretsAudit,
    useFactory: (storage: KmsStorage, o: ResolvedSecretsOptions, buffer: AuditBuffer) =>
      new SecretsAudit(storage, o, buffer),
    inject: [KmsStorage, OPTIONS, AuditBuffer],
  },
  {
    provide: KmsSecurityTrail,
    useFactory: (events: KmsSecurityEvents, audit: SecretsAudit) =>
      new KmsSecurityTrail(events, audit),
    inject: [KmsSecurityEvents, SecretsAudit],
  },
  {
    provide: AuditChain,
    useFactory: (storage: KmsStorage, kms: KmsService, o: ResolvedSecretsOptions) => {
      let key: Buffer | undefined;
      // Derived on first use, once the keyring is open; the same on every replica.
      return new AuditChain(storage, () => (key ??= keyringSubkey(kms, 'audit-chain')), o.clock);
    },
    inject: [KmsStorage, KmsService, OPTIONS],
  },
  {
    provide: AuditSealing,
    useFactory: (registry: SchedulerRegistry, chain: AuditChain, audit: SecretsAudit) =>
      new AuditSealing(registry, chain, audit),
    inject: [KMS_SCHEDULER_REGISTRY, AuditChain, SecretsAudit],
  },
  {
    provide: SecretsAuditTrail,
    useFactory: (chain: AuditChain, sealing: AuditSealing, audit: SecretsAudit) =>
      new SecretsAuditTrail(chain, sealing, audit),
    inject: [AuditChain, AuditSealing, SecretsAudit],
  },
  {
    provide: SecretLoader,
    useFactory: (
      kms: KmsService,
      store: SecretsStore,
      cache: SecretCache,
      o: ResolvedSecretsOptions,
    ) => new SecretLoader(kms, store, cache, o),
    inject: [KmsService, SecretsStore, SecretCache, OPTIONS],
  },
  {
    provide: SecretReader,
    useFactory: (
      loader: SecretLoader,
      cache: SecretCache,
      audit: SecretsAudit,
      metrics: SecretsMetrics,
      o: ResolvedSecretsOptions,
      blocklist: ActorBlocklist,
    ) => new SecretReader(loader, cache, audit, metrics, o, blocklist),
    inject: [SecretLoader, SecretCache, SecretsAudit, SecretsMetrics, OPTIONS, ActorBlocklist],
  },
  {
    provide: SecretListing,
    useFactory: (store: SecretsStore, audit: SecretsAudit) => new SecretListing(store, audit),
    inject: [SecretsStore, SecretsAudit],
  },
  {
    provide: SecretChangeFeed,
    useFactory: (notifications: KmsNotifications, reader: SecretReader, store: SecretsStore) =>
      new SecretChangeFeed(notifications, reader, store),
    inject: [KmsNotifications, SecretReader, SecretsStore],
  },
  {
    provide: DestroyedKeysEviction,
    useFactory: (
      events: KmsSecurityEvents,
      notifications: KmsNotifications,
      reader: SecretReader,
    ) => new DestroyedKeysEviction(events, notifications, reader),
    inject: [KmsSecurityEvents, KmsNotifications, SecretReader],
  },
  {
    provide: SecretWriter,
    useFactory: (
      kms: KmsService,
      store: SecretsStore,
      audit: SecretsAudit,
      o: ResolvedSecretsOptions,
      changes: SecretChangeFeed,
    ) => new SecretWriter(kms, store, audit, o, changes),
    inject: [KmsService, SecretsStore, SecretsAudit, OPTIONS, SecretChangeFeed],
  },
  {
    provide: SecretsBackup,
    useFactory: (
      kms: KmsService,
      exports: SealedExports,
      store: SecretsStore,
      audit: SecretsAudit,
      o: ResolvedSecretsOptions,
      changes: SecretChangeFeed,
    ) => new SecretsBackup(kms, exports, store, audit, o.clock, changes),
    inject: [KmsService, SealedExports, SecretsStore, SecretsAudit, OPTIONS, SecretChangeFeed],
  },
  { provide: SecretRotators, useFactory: () => new SecretRotators() },
  {
    provide: LifecycleStore,
    useFactory: (storage: KmsStorage) => new LifecycleStore(storage),
    inject: [KmsStorage],
  },
  {
    provide: ExpirySweep,
    useFactory: (store: LifecycleStore, o: ResolvedSecretsOptions, metrics: SecretsMetrics) =>
      new ExpirySweep(store, o.clock, metrics),
    inject: [LifecycleStore, OPTIONS, SecretsMetrics],
  },
  {
    provide: AutoRotation,
    useFactory: (
      kms: KmsService,
      secrets: SecretsStore,
      store: LifecycleStore,
      writer: SecretWriter,
      audit: SecretsAudit,
      rotators: SecretRotators,
      o: ResolvedSecretsOptions,
      metrics: SecretsMetrics,
    ) => new AutoRotation(kms, secrets, store, writer, audit, rotators, o, metrics),
    inject: [
      KmsService,
      SecretsStore,
      LifecycleStore,
      SecretWriter,
      SecretsAudit,
      SecretRotators,
      OPTIONS,
      SecretsMetrics,
    ],
  },
  {
    provide: SecretsLifecycle,
    useFactory: (registry: SchedulerRegistry, sweep: ExpirySweep, rotation: AutoRotation) =>
      new SecretsLifecycle(registry, sweep, rotation),
    inject: [KMS_SCHEDULER_REGISTRY, ExpirySweep, AutoRotation],
  },
  SecretsService,
];

/** One SecretRef provider per name, as TypeOrmModule.forFeature makes repositories. */
export function createSecretRefProviders(names: readonly string[]): Provider[] {
  return names.map((name) => {
    checkName(name);
    return {
      provide: getSecretToken(name),
      useFactory: (secrets: SecretsService) => new SecretRef(name, secrets),
      inject: [SecretsService],
    };
  });
}
