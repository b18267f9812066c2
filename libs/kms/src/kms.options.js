import { KmsConfigurationError } from './errors/kms-configuration.error.js';
export const DEFAULT_SQLITE_DATABASE = 'data/nest-kms.sqlite';
export function resolveKmsOptions(options, env) {
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
function resolveStorage(options, production) {
  if (options.dataSource !== undefined && options.connection !== undefined) {
    throw new KmsConfigurationError('give either dataSource or connection, not both');
  }
  if (options.dataSource !== undefined)
    return { kind: 'application', dataSource: options.dataSource };
  if (options.connection !== undefined) {
    return { kind: 'owned', connection: options.connection };
  }
  if (production) {
    throw new KmsConfigurationError(
      'NODE_ENV is production and neither dataSource nor connection is set; point KmsModule at the shared database',
    );
  }
  return {
    kind: 'owned',
    connection: { type: 'better-sqlite3', database: DEFAULT_SQLITE_DATABASE },
  };
}
//# sourceMappingURL=kms.options.js.map
