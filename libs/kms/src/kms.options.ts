import type { DataSource, DataSourceOptions } from 'typeorm';
import { KmsConfigurationError } from './errors/kms-configuration.error.js';
import type { KmsModuleOptions } from './interfaces/kms-module-options.interface.js';
import type { MasterKeyProvider } from './master-key/master-key-provider.interface.js';

export type KmsStorageOptions =
  | { kind: 'application'; dataSource: DataSource | string }
  | { kind: 'owned'; connection: DataSourceOptions };

/** Module options with every default applied. */
export interface ResolvedKmsOptions {
  masterKey: string | Buffer | MasterKeyProvider | undefined;
  environmentKey: string | undefined;
  developmentMasterKeyFile: string | undefined;
  production: boolean;
  storage: KmsStorageOptions;
  initializeOnStart: boolean;
}

export const DEFAULT_SQLITE_DATABASE = 'data/nest-kms.sqlite';

/** The one place defaults are merged. */
export function resolveKmsOptions(
  options: KmsModuleOptions,
  env: NodeJS.ProcessEnv,
): ResolvedKmsOptions {
  const production = env.NODE_ENV === 'production';
  return {
    masterKey: options.masterKey,
    environmentKey: env.KMS_MASTER_KEY || undefined,
    developmentMasterKeyFile: options.developmentMasterKeyFile,
    production,
    storage: resolveStorage(options, production),
    initializeOnStart: options.initializeOnStart ?? true,
  };
}

function resolveStorage(options: KmsModuleOptions, production: boolean): KmsStorageOptions {
  if (options.dataSource !== undefined && options.connection !== undefined) {
    throw new KmsConfigurationError('give either dataSource or connection, not both');
  }
  if (options.dataSource !== undefined)
    return { kind: 'application', dataSource: options.dataSource };
  if (options.connection !== undefined) {
    return { kind: 'owned', connection: options.connection as DataSourceOptions };
  }
  if (production) {
    // Several replicas each on a private SQLite file would each grow their own keyring.
    throw new KmsConfigurationError(
      'NODE_ENV is production and neither dataSource nor connection is set; point KmsModule at the shared database',
    );
  }
  return {
    kind: 'owned',
    connection: { type: 'better-sqlite3', database: DEFAULT_SQLITE_DATABASE },
  };
}
