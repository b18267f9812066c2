import type { DataSource } from 'typeorm';
import type { BetterSqlite3DataSourceOptions } from 'typeorm/driver/better-sqlite3/BetterSqlite3DataSourceOptions.js';
import type { PostgresDataSourceOptions } from 'typeorm/driver/postgres/PostgresDataSourceOptions.js';
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
}

/** For `KmsModule.forRootAsync({ useClass })`. */
export interface KmsOptionsFactory {
  createKmsOptions(): Promise<KmsModuleOptions> | KmsModuleOptions;
}
