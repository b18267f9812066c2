import type { DataSource, DataSourceOptions } from 'typeorm';
import { KmsConfigurationError } from './errors/kms-configuration.error.js';
import type {
  KmsModuleOptions,
  KmsTenantMasterKeyOptions,
  LegacyEnvelopesMode,
} from './interfaces/kms-module-options.interface.js';
import type { MasterKeyProvider } from './master-key/master-key-provider.interface.js';
import {
  DEFAULT_MASTER_KEY_CALL_POLICY,
  type MasterKeyCallPolicy,
} from './master-key/guarded-master-key.js';
import { createPrivateSqliteFile } from './storage/private-sqlite-file.js';
import { DEFAULT_DATABASE_TIMEOUTS, type DatabaseTimeouts } from './storage/database-timeouts.js';

export type KmsStorageOptions =
  | { kind: 'application'; dataSource: DataSource | string }
  | { kind: 'owned'; connection: DataSourceOptions };

/** Module options with every default applied. */
export interface ResolvedKmsOptions {
  masterKey: string | Buffer | MasterKeyProvider | undefined;
  environmentKey: string | undefined;
  /** KMS_MASTER_KEY_PROVIDER and KMS_MASTER_KEY_PREVIOUS_PROVIDER: providers configured from `env`. */
  masterKeyProviderName: string | undefined;
  previousMasterKeyProviderName: string | undefined;
  developmentMasterKeyFile: string | undefined;
  production: boolean;
  storage: KmsStorageOptions;
  initializeOnStart: boolean;
  previousMasterKey: string | Buffer | MasterKeyProvider | undefined;
  additionalMasterKeys: (string | Buffer | MasterKeyProvider)[] | undefined;
  tenantMasterKeys: Required<KmsTenantMasterKeyOptions> | undefined;
  rotationDays: number;
  maxEncryptionsPerKey: number;
  checkIntervalMs: number;
  usageFlushEvery: number;
  autoReencrypt: boolean;
  reencryptionBatchSize: number;
  legacyEnvelopes: LegacyEnvelopesMode;
  databaseTimeouts: DatabaseTimeouts;
  masterKeyCalls: MasterKeyCallPolicy;
  masterKeyStartupWaitMs: number;
  masterKeyProbeIntervalMs: number;
  /** The process environment, read for a provider's settings (KMS_MASTER_KEY_PROVIDER). */
  env: Readonly<Record<string, string | undefined>>;
  region: { role: 'primary' | 'replica'; primary: string | null };
  clock: () => number;
}

/**
 * The library's own default outside production, when KmsModule is given neither dataSource nor
 * connection. Deliberately not the demo's data/demo.sqlite: an application that has a database
 * should point KmsModule at it (dataSource), not share a file by name.
 */
export const DEFAULT_SQLITE_DATABASE = 'data/nest-kms.sqlite';

/** The one place defaults are merged. */
export function resolveKmsOptions(
  options: KmsModuleOptions,
  env: NodeJS.ProcessEnv,
): ResolvedKmsOptions {
  const production = env.NODE_ENV === 'production';
  const calls = options.masterKeyCalls;
  return {
    masterKey: options.masterKey,
    environmentKey: env.KMS_MASTER_KEY || undefined,
    masterKeyProviderName: env.KMS_MASTER_KEY_PROVIDER || undefined,
    previousMasterKeyProviderName: env.KMS_MASTER_KEY_PREVIOUS_PROVIDER || undefined,
    developmentMasterKeyFile: options.developmentMasterKeyFile,
    production,
    initializeOnStart: options.initializeOnStart ?? true,
    previousMasterKey: options.previousMasterKey ?? (env.KMS_MASTER_KEY_PREVIOUS || undefined),
    additionalMasterKeys: options.additionalMasterKeys,
    tenantMasterKeys: tenantMasterKeysOf(options.tenantMasterKeys),
    rotationDays: nonNegative('rotation.rotationDays', options.rotation?.rotationDays ?? 90),
    maxEncryptionsPerKey: encryptionLimit(options.rotation?.maxEncryptionsPerKey ?? 2 ** 30),
    checkIntervalMs: nonNegative(
      'rotation.checkIntervalMs',
      options.rotation?.checkIntervalMs ?? 60_000,
    ),
    usageFlushEvery: positiveInteger(
      'rotation.usageFlushEvery',
      options.rotation?.usageFlushEvery ?? 10_000,
    ),
    autoReencrypt: options.reencryption?.auto ?? true,
    reencryptionBatchSize: positiveInteger(
      'reencryption.batchSize',
      options.reencryption?.batchSize ?? 500,
    ),
    legacyEnvelopes: legacyEnvelopesMode(options.reencryption?.legacyEnvelopes),
    databaseTimeouts: {
      connectTimeoutMs: positiveInteger(
        'database.connectTimeoutMs',
        options.database?.connectTimeoutMs ?? DEFAULT_DATABASE_TIMEOUTS.connectTimeoutMs,
      ),
      statementTimeoutMs: positiveInteger(
        'database.statementTimeoutMs',
        options.database?.statementTimeoutMs ?? DEFAULT_DATABASE_TIMEOUTS.statementTimeoutMs,
      ),
    },
    masterKeyCalls: {
      timeoutMs: positiveInteger(
        'masterKeyCalls.timeoutMs',
        calls?.timeoutMs ?? DEFAULT_MASTER_KEY_CALL_POLICY.timeoutMs,
      ),
      attempts: positiveInteger(
        'masterKeyCalls.attempts',
        calls?.attempts ?? DEFAULT_MASTER_KEY_CALL_POLICY.attempts,
      ),
      backoffMs: nonNegative(
        'masterKeyCalls.backoffMs',
        calls?.backoffMs ?? DEFAULT_MASTER_KEY_CALL_POLICY.backoffMs,
      ),
      maxBackoffMs: nonNegative(
        'masterKeyCalls.maxBackoffMs',
        calls?.maxBackoffMs ?? DEFAULT_MASTER_KEY_CALL_POLICY.maxBackoffMs,
      ),
    },
    masterKeyStartupWaitMs: nonNegative(
      'masterKeyCalls.startupWaitMs',
      calls?.startupWaitMs ?? 60_000,
    ),
    masterKeyProbeIntervalMs: nonNegative(
      'masterKeyCalls.probeIntervalMs',
      calls?.probeIntervalMs ?? 60_000,
    ),
    env,
    region: regionOf(options, env),
    clock: options.clock ?? Date.now,
    // Last: it may create the SQLite file, which only options that passed every check should.
    storage: resolveStorage(options, production),
  };
}

/** NIST SP 800-38D's limit for random 96-bit IVs: no key may seal more. */
const GCM_RANDOM_IV_LIMIT = 2 ** 32;

function nonNegative(name: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new KmsConfigurationError(`${name} must be a non-negative number`);
  }
  return value;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new KmsConfigurationError(`${name} must be a positive integer`);
  }
  return value;
}

function encryptionLimit(value: number): number {
  const name = 'rotation.maxEncryptionsPerKey';
  if (positiveInteger(name, value) > GCM_RANDOM_IV_LIMIT) {
    throw new KmsConfigurationError(`${name} must not exceed 2^32 (NIST SP 800-38D)`);
  }
  return value;
}

function tenantMasterKeysOf(
  options: KmsTenantMasterKeyOptions | undefined,
): Required<KmsTenantMasterKeyOptions> | undefined {
  if (options === undefined) return undefined;
  if (typeof options.providerFor !== 'function') {
    throw new KmsConfigurationError('tenantMasterKeys.providerFor must be a function');
  }
  const recheckAfterMs = positiveInteger(
    'tenantMasterKeys.recheckAfterMs',
    options.recheckAfterMs ?? 300_000,
  );
  return { providerFor: (tenant) => options.providerFor(tenant), recheckAfterMs };
}

const LEGACY_ENVELOPES_MODES: readonly LegacyEnvelopesMode[] = [
  'until-reencrypted',
  'accept',
  'refuse',
];

function legacyEnvelopesMode(value: LegacyEnvelopesMode | undefined): LegacyEnvelopesMode {
  if (value === undefined) return 'until-reencrypted';
  if (!LEGACY_ENVELOPES_MODES.includes(value)) {
    throw new KmsConfigurationError(
      `reencryption.legacyEnvelopes must be one of ${LEGACY_ENVELOPES_MODES.join(', ')}`,
    );
  }
  return value;
}

function resolveStorage(options: KmsModuleOptions, production: boolean): KmsStorageOptions {
  if (options.dataSource !== undefined && options.connection !== undefined) {
    throw new KmsConfigurationError('give either dataSource or connection, not both');
  }
  if (options.dataSource !== undefined)
    return { kind: 'application', dataSource: options.dataSource };
  if (options.connection !== undefined) {
    return ownedConnection(options.connection as DataSourceOptions);
  }
  if (production) {
    // Several replicas each on a private SQLite file would each grow their own keyring.
    throw new KmsConfigurationError(
      'NODE_ENV is production and neither dataSource nor connection is set; point KmsModule at the shared database',
    );
  }
  return ownedConnection({ type: 'better-sqlite3', database: DEFAULT_SQLITE_DATABASE });
}

/** A connection the module opens; an SQLite file it creates is its owner's alone (0600). */
function ownedConnection(connection: DataSourceOptions): KmsStorageOptions {
  if (connection.type === 'better-sqlite3' && typeof connection.database === 'string') {
    createPrivateSqliteFile(connection.database);
  }
  return { kind: 'owned', connection };
}

function regionOf(
  options: KmsModuleOptions,
  env: NodeJS.ProcessEnv,
): { role: 'primary' | 'replica'; primary: string | null } {
  const role = options.region?.role ?? (env.KMS_REGION_ROLE || 'primary');
  if (role !== 'primary' && role !== 'replica') {
    throw new KmsConfigurationError('region.role (KMS_REGION_ROLE) must be primary or replica');
  }
  return { role, primary: options.region?.primary ?? (env.KMS_REGION_PRIMARY || null) };
}
