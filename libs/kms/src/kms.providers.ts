import type { Provider } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { EncryptedColumnsAttachment } from './columns/encrypted-columns-attachment.js';
import { ActorBlocklist } from './core/actor-blocklist.js';
import { EnvelopeActivity } from './core/envelope-activity.js';
import { KeyAdministration } from './core/key-administration.js';
import { KeyringRewrapper } from './core/keyring-rewrapper.js';
import { KmsBatches } from './core/kms-batches.js';
import { KmsBootstrap } from './core/kms-bootstrap.js';
import { KmsKeyring } from './core/kms-keyring.js';
import { KmsStatusReport } from './core/kms-status-report.js';
import { KmsRegion } from './core/kms-region.js';
import { KmsSecurityEvents } from './core/kms-security-events.js';
import { KmsTenants } from './core/kms-tenants.js';
import { MasterKeyGuard } from './core/master-key-guard.js';
import { KmsHealthIndicator } from './health/kms-health.indicator.js';
import type { KmsModuleOptions } from './interfaces/kms-module-options.interface.js';
import { KeyringEnvelopes } from './keyring/keyring-envelopes.js';
import { SealedExports } from './core/sealed-exports.js';
import {
  KMS_KEYRING_STORE,
  KMS_RESOLVED_OPTIONS,
  KMS_SCHEDULER_REGISTRY,
} from './kms.constants.js';
import { MODULE_OPTIONS_TOKEN } from './kms.module-definition.js';
import { resolveKmsOptions } from './kms.options.js';
import { KmsService } from './kms.service.js';
import { KmsMetrics } from './metrics/kms-metrics.js';
import { KeyringReplicaSync } from './notifications/keyring-replica-sync.js';
import { KmsNotifications } from './notifications/kms-notifications.js';
import { EnvelopeColumnQueries } from './reencryption/envelope-column-queries.js';
import { LegacyEnvelopes } from './reencryption/legacy-envelopes.js';
import { REWRAP_WORKER_ENTRY } from './reencryption/reencryption.constants.js';
import { ReencryptionJob } from './reencryption/reencryption.job.js';
import { DEFAULT_REWRAP_WORKER_ENTRY } from './reencryption/rewrap-thread.js';
import { KeyLifecycle } from './rotation/key-lifecycle.js';
import { KmsDatabase } from './storage/kms-database.js';
import { KmsStorage } from './storage/kms-storage.js';
import { TypeOrmKeyringStore } from './storage/typeorm-keyring.store.js';

/**
 * Every collaborator of KmsModule, in dependency order; each can be replaced in a test with
 * `Test.createTestingModule(...).overrideProvider(X)`.
 *
 * ```
 * options ─ storage ─ notifications ─ metrics ─ MasterKeyGuard (configuration and I/O)
 * keyring store (KMS_KEYRING_STORE) ─ KmsKeyring              (the open keyring, once started)
 * LegacyEnvelopes ─ EnvelopeActivity ─ KeyringEnvelopes       (the hot path: seal and open)
 * KeyringRewrapper ─ EnvelopeColumnQueries ─ ReencryptionJob ─ KeyLifecycle
 *                                                             (rotation and re-encryption)
 * KeyringReplicaSync ─ EncryptedColumnsAttachment             (other replicas, @EncryptedColumn)
 * KeyAdministration ─ KmsStatusReport ─ KmsBootstrap          (operators, status, start/stop)
 * KmsService                                                  (the public facade)
 * ```
 */
export const KMS_PROVIDERS: Provider[] = [
  {
    provide: KMS_RESOLVED_OPTIONS,
    useFactory: (options: KmsModuleOptions) => resolveKmsOptions(options, process.env),
    inject: [MODULE_OPTIONS_TOKEN],
  },
  {
    provide: KMS_SCHEDULER_REGISTRY,
    useFactory: (registry: SchedulerRegistry | undefined) => registry ?? new SchedulerRegistry(),
    inject: [{ token: SchedulerRegistry, optional: true }],
  },
  KmsStorage,
  KmsNotifications,
  KmsMetrics,
  KmsRegion,
  KmsSecurityEvents,
  ActorBlocklist,
  MasterKeyGuard,
  {
    provide: KMS_KEYRING_STORE,
    useFactory: (storage: KmsStorage, notifications: KmsNotifications) =>
      new TypeOrmKeyringStore(storage, notifications),
    inject: [KmsStorage, KmsNotifications],
  },
  KmsKeyring,
  LegacyEnvelopes,
  EnvelopeActivity,
  {
    provide: KeyringEnvelopes,
    useFactory: (keyring: KmsKeyring, activity: EnvelopeActivity, legacy: LegacyEnvelopes) =>
      new KeyringEnvelopes(
        () => keyring.ready(),
        activity,
        (purpose, keyId) => legacy.accepts(purpose, keyId),
      ),
    inject: [KmsKeyring, EnvelopeActivity, LegacyEnvelopes],
  },
  KeyringRewrapper,
  { provide: REWRAP_WORKER_ENTRY, useValue: DEFAULT_REWRAP_WORKER_ENTRY },
  EnvelopeColumnQueries,
  ReencryptionJob,
  KeyLifecycle,
  KeyringReplicaSync,
  EncryptedColumnsAttachment,
  KeyAdministration,
  KmsStatusReport,
  KmsBootstrap,
  KmsTenants,
  KmsBatches,
  KmsService,
  KmsDatabase,
  KmsHealthIndicator,
  SealedExports,
];

/** What KmsModule lends the modules that import it (every module, when global). */
export const KMS_EXPORTS = [
  KmsService,
  KmsRegion,
  KmsSecurityEvents,
  ActorBlocklist,
  KmsDatabase,
  KmsHealthIndicator,
  KmsStorage,
  KmsNotifications,
  KmsMetrics,
  KMS_SCHEDULER_REGISTRY,
  SealedExports,
];
