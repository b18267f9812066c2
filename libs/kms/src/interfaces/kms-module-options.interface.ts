import type { DataSource } from 'typeorm';
import type { BetterSqlite3DataSourceOptions } from 'typeorm/driver/better-sqlite3/BetterSqlite3DataSourceOptions.js';
import type { PostgresDataSourceOptions } from 'typeorm/driver/postgres/PostgresDataSourceOptions.js';
import type { KEYRING_MASTER_KEY } from '../keyring/keyring-master-key.js';
import type { MasterKeyProvider } from '../master-key/master-key-provider.interface.js';

/** Connection options for a DataSource nest-kms opens itself; its entities and migrations are added. */
export type KmsConnectionOptions =
  | Omit<PostgresDataSourceOptions, 'entities' | 'migrations' | 'synchronize' | 'migrationsRun'>
  | Omit<
      BetterSqlite3DataSourceOptions,
      'entities' | 'migrations' | 'synchronize' | 'migrationsRun'
    >;

export interface KmsModuleOptions {
  /**
   * The master key: base64 of 32 bytes, a 32-byte Buffer, or a MasterKeyProvider.
   * @default process.env.KMS_MASTER_KEY
   */
  masterKey?: string | Buffer | MasterKeyProvider;
  /**
   * Development only: when no master key is configured, generate one into this file (mode 0600)
   * on first start and reuse it after. Ignored when a key is configured; refused when
   * NODE_ENV is production.
   * @default undefined (no key is ever generated)
   */
  developmentMasterKeyFile?: string;
  /**
   * Use an application DataSource: the instance, or the name it was registered under with
   * TypeOrmModule ('default' for the unnamed one). It must include KMS_ENTITIES, and its
   * migrations KMS_MIGRATIONS.
   * @default undefined (nest-kms opens its own from `connection`)
   */
  dataSource?: DataSource | string;
  /**
   * Connection of the DataSource nest-kms opens, migrates and closes itself when `dataSource` is not given.
   * Required when NODE_ENV is production.
   * @default { type: 'better-sqlite3', database: 'data/nest-kms.sqlite' } outside production
   */
  connection?: KmsConnectionOptions;
  /**
   * Initialise (load the keyring) during application start-up.
   * @default true
   */
  initializeOnStart?: boolean;
  /**
   * The master key being rotated away from. When the keyring is still under this key and
   * `masterKey` is new, start-up re-wraps every data key under the new one (one transaction),
   * and rows wrapped by either key open while replicas roll over.
   * @default process.env.KMS_MASTER_KEY_PREVIOUS
   */
  previousMasterKey?: string | Buffer | MasterKeyProvider;
  /**
   * Additional master keys of the keyring (a second region's KMS key, an offline break-glass
   * key): every data key is also wrapped under each, and when the primary master key cannot be
   * reached a key is unwrapped with these, in this order. A key listed here for the first time
   * gets its wraps of every data key at start-up, in one transaction; one that cannot be
   * reached catches up later. Configuring one of them as `masterKey` fails the keyring over to
   * it. Remove one with `KmsService.removeMasterKey()`.
   * @default KMS_ADDITIONAL_MASTER_KEY, then the provider KMS_ADDITIONAL_MASTER_KEY_PROVIDER names
   */
  additionalMasterKeys?: (string | Buffer | MasterKeyProvider)[];
  /**
   * Tenants whose data keys are wrapped under a master key of their own (bring your own key,
   * docs/tenants.md): a tenant's AWS KMS key, Key Vault key or HSM key.
   * @default undefined (every tenant's keys are wrapped under the keyring's master key)
   */
  tenantMasterKeys?: KmsTenantMasterKeyOptions;
  /**
   * The region this application runs in (docs/multi-region.md). A `replica` region receives the
   * keyring and secrets by Postgres logical replication: it reads, encrypts and decrypts, refuses
   * every write with RegionReadOnlyError naming `primary`, and runs no scheduled job.
   * @default { role: process.env.KMS_REGION_ROLE ?? 'primary', primary: process.env.KMS_REGION_PRIMARY }
   */
  region?: KmsRegionOptions;
  /** Scheduled data-key rotation. */
  rotation?: KmsRotationOptions;
  /** Moving envelopes off retired data keys. */
  reencryption?: KmsReencryptionOptions;
  /**
   * Time limits for the database, so that a database that is down or silent fails a call with
   * DatabaseUnavailableError within a bounded time instead of hanging it. Applied to the
   * DataSource opened from `connection`; an application's own DataSource gets them from
   * `withDatabaseTimeouts()` (else its driver's settings apply).
   * @default { connectTimeoutMs: 5000, statementTimeoutMs: 10000 }
   */
  database?: KmsDatabaseOptions;
  /** Time limits and retries for calls to the master key's provider (a remote KMS, an HSM). */
  masterKeyCalls?: KmsMasterKeyCallOptions;
  /**
   * The clock (epoch milliseconds), for tests of the rotation schedule.
   * @default Date.now
   */
  clock?: () => number;
}

/**
 * What `tenantMasterKeys.providerFor` answers for a tenant: its own master key; a list of them,
 * its current one first (KEYRING_MASTER_KEY first moves it back under the keyring's); or
 * `undefined` for a tenant under the keyring's master key.
 */
export type TenantMasterKeyAnswer =
  | MasterKeyProvider
  | readonly [MasterKeyProvider | typeof KEYRING_MASTER_KEY, ...MasterKeyProvider[]]
  | readonly MasterKeyProvider[]
  | undefined;

/** Tenants' own master keys (bring your own key); see KmsModuleOptions.tenantMasterKeys. */
export interface KmsTenantMasterKeyOptions {
  /**
   * The tenant's own master key, or undefined for a tenant under the keyring's master key.
   * Asked on the tenant's first use in a process and again each time its keys are unwrapped
   * anew (see `recheckAfterMs`); it may look the tenant's key up in the application's own
   * tables. Return the same provider for a tenant each time (cache it): nest-kms puts it behind
   * `masterKeyCalls` but does not release it, the application that made it does. A list names
   * the tenant's current key first, then keys it is moving away from: keys wrapped under those
   * still unwrap, and are re-wrapped under the first. KEYRING_MASTER_KEY first in the list
   * moves the tenant back under the keyring's master key. Throwing fails that tenant's call
   * with MasterKeyUnavailableError (retryable); the next call asks again.
   */
  providerFor(tenant: string): TenantMasterKeyAnswer | Promise<TenantMasterKeyAnswer>;
  /**
   * How long a tenant's keys, unwrapped by its own master key, stay in memory before the next
   * use unwraps them again: the longest a tenant's revocation (disabling its key, withdrawing
   * a grant) takes to reach a process that holds its keys. Each recheck is one unwrap call per
   * key of the tenant, per process.
   * @default 300000 (5 minutes)
   */
  recheckAfterMs?: number;
}

export interface KmsRotationOptions {
  /**
   * Rotate the active data key once it is this many days old. 0 turns age-based rotation off.
   * @default 90
   */
  rotationDays?: number;
  /**
   * Rotate before one data key has sealed this many envelopes. With random 96-bit IVs NIST SP
   * 800-38D allows at most 2^32 per key; replicas count in batches, so the default leaves room.
   * @default 2 ** 30
   */
  maxEncryptionsPerKey?: number;
  /**
   * How often each replica checks whether the active key is due and flushes its usage count.
   * 0 turns the scheduler off (rotateDataKey() and runLifecycle() still work).
   * @default 60000
   */
  checkIntervalMs?: number;
  /**
   * A replica writes its usage count after this many encryptions (and on every check).
   * @default 10000
   */
  usageFlushEvery?: number;
}

export interface KmsReencryptionOptions {
  /**
   * Run re-encryption from the scheduler whenever envelopes under retired keys remain (one
   * replica at a time). Off: only reencrypt() moves them.
   * @default true
   */
  auto?: boolean;
  /**
   * Envelopes read, re-encrypted and written per transaction.
   * @default 500
   */
  batchSize?: number;
  /**
   * Values of nest-kms's own stores (secrets, encrypted columns) in envelope format v1, written
   * before envelopes carried their purpose. `'until-reencrypted'`: accepted, and moved to format
   * v2 by re-encryption, until a run over every registered column finds none left for a store;
   * from then on that store refuses them on every replica. `'accept'`: always accepted and moved
   * (say, while restoring data from before the upgrade). `'refuse'`: never accepted, never moved.
   * The public API's envelopes are format v1 and always open through `decryptData`.
   * @default 'until-reencrypted'
   */
  legacyEnvelopes?: LegacyEnvelopesMode;
}

/** What a store does with its values still in envelope format v1; see `legacyEnvelopes`. */
export type LegacyEnvelopesMode = 'until-reencrypted' | 'accept' | 'refuse';

export interface KmsDatabaseOptions {
  /**
   * Postgres: how long opening a connection, or waiting for a free one in the pool, may take
   * (pg-pool's connectionTimeoutMillis). SQLite opens a file and has none.
   * @default 5000
   */
  connectTimeoutMs?: number;
  /**
   * Postgres: the server's statement_timeout, and the client's query_timeout up to a second
   * later for a server that no longer answers. SQLite: the busy timeout, how long a statement waits
   * for a lock another connection holds. Also bounds the migrations run at start-up.
   * @default 10000
   */
  statementTimeoutMs?: number;
}

/**
 * Bounds on every call to the master key's provider. A remote KMS or an HSM can be slow, throttle
 * or drop connections; these keep each call bounded and retried the same way for every provider.
 */
export interface KmsMasterKeyCallOptions {
  /**
   * How long one attempt may take before it is abandoned and counted as a transient failure.
   * @default 10000
   */
  timeoutMs?: number;
  /**
   * Attempts per call, the first included. Only transient failures (timeouts, throttling, server
   * errors, dropped connections) are tried again; refusals and wrapped keys that do not verify
   * never are.
   * @default 3
   */
  attempts?: number;
  /**
   * The first retry waits a random time up to this; each next one up to twice as long.
   * @default 200
   */
  backoffMs?: number;
  /**
   * No retry waits longer than this.
   * @default 5000
   */
  maxBackoffMs?: number;
  /**
   * At start-up, how long to keep trying a provider that fails transiently before start-up is
   * refused with MasterKeyUnavailableError naming the provider and the cause.
   * @default 60000
   */
  startupWaitMs?: number;
  /**
   * How often each replica checks its master key with a wrap and an unwrap of a throwaway key
   * (the `kms_master_key_unreachable_seconds` gauge and the recovery log follow it). 0 turns the
   * probe off; calls made by the keyring still report.
   * @default 60000
   */
  probeIntervalMs?: number;
}

/** Which region this application runs in (docs/multi-region.md). */
export interface KmsRegionOptions {
  /** `primary` writes; `replica` receives the keyring by replication and writes nothing. */
  role: 'primary' | 'replica';
  /** Where a replica sends writes, named in its refusals (a URL, a region name). */
  primary?: string;
}

/** For `KmsModule.forRootAsync({ useClass })`. */
export interface KmsOptionsFactory {
  createKmsOptions(): Promise<KmsModuleOptions> | KmsModuleOptions;
}
