import type { SchedulerRegistry } from '@nestjs/schedule';
import type { KmsService } from '@nest-kms/kms';
import type { KmsStorage, SealedExports } from '@nest-kms/kms/extension';
import { SecretsAudit } from './audit/secrets-audit.js';
import { SecretsBackup } from './backup/secrets-backup.js';
import type { SecretRotators } from './lifecycle/secret-rotators.js';
import { SecretsLifecycle } from './lifecycle/secrets-lifecycle.js';
import type { SecretChangeFeed } from './secret-change-feed.js';
import { SecretReader } from './secret-reader.js';
import { SecretWriter } from './secret-writer.js';
import type { SecretsMetrics } from './secrets-metrics.js';
import type { ResolvedSecretsOptions } from './secrets.options.js';
import { SecretsStore } from './secrets.store.js';

/** What SecretsService works with once started; every operation but watch() needs it. */
export interface SecretsRuntime {
  readonly store: SecretsStore;
  readonly reader: SecretReader;
  readonly audit: SecretsAudit;
  readonly writer: SecretWriter;
  readonly backups: SecretsBackup;
  readonly lifecycle: SecretsLifecycle;
}

export interface SecretsRuntimeDependencies {
  readonly kms: KmsService;
  readonly storage: KmsStorage;
  readonly exports: SealedExports;
  readonly options: ResolvedSecretsOptions;
  readonly scheduler: SchedulerRegistry;
  readonly changes: SecretChangeFeed;
  readonly rotators: SecretRotators;
  readonly metrics: SecretsMetrics;
}

/** Opens the secrets tables on the KMS DataSource and wires the collaborators over them. */
export async function createSecretsRuntime(
  deps: SecretsRuntimeDependencies,
): Promise<SecretsRuntime> {
  const { kms, storage, options, changes } = deps;
  const dataSource = await storage.dataSource();
  const store = new SecretsStore(dataSource, storage);
  const audit = new SecretsAudit(storage, options, deps.metrics);
  const writer = new SecretWriter(kms, store, audit, options, changes);
  return {
    store,
    audit,
    writer,
    reader: new SecretReader(kms, store, options),
    backups: new SecretsBackup(kms, deps.exports, dataSource, store, audit, options.clock, changes),
    lifecycle: new SecretsLifecycle(deps.scheduler, {
      kms,
      storage,
      store,
      writer,
      audit,
      rotators: deps.rotators,
      options,
      metrics: deps.metrics,
    }),
  };
}
