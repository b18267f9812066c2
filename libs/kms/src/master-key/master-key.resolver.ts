import { KmsConfigurationError } from '../errors/kms-configuration.error.js';
import { MasterKeyMissingError } from '../errors/master-key-missing.error.js';
import { LocalMasterKeyProvider } from './local-master-key.provider.js';
import type { MasterKeyProvider } from './master-key-provider.interface.js';
import {
  masterKeyProviderFromEnvironment,
  type MasterKeyEnvironment,
} from './provider-packages.js';

/** Where a master key may come from, in the order they are tried. */
export interface MasterKeySource {
  masterKey?: string | Buffer | MasterKeyProvider;
  developmentMasterKeyFile?: string;
  production: boolean;
  environmentKey?: string;
  /** KMS_MASTER_KEY_PROVIDER: a provider package configured from `env` instead of KMS_MASTER_KEY. */
  providerName?: string;
  env?: MasterKeyEnvironment;
}

/** A master key given as base64 (`source` names it in errors), 32 bytes, or a provider. */
export function masterKeyProviderOf(
  value: string | Buffer | MasterKeyProvider,
  source: string,
): MasterKeyProvider {
  if (typeof value === 'string') return LocalMasterKeyProvider.fromBase64(value, source);
  if (Buffer.isBuffer(value)) return new LocalMasterKeyProvider(value);
  return value;
}

/**
 * The master key configured in memory: the explicit option, then KMS_MASTER_KEY. Undefined when
 * neither is set outside production (a development key file may then be used); in production,
 * MasterKeyMissingError.
 */
export function configuredMasterKeyProvider(
  source: MasterKeySource,
): MasterKeyProvider | undefined {
  if (source.masterKey !== undefined)
    return masterKeyProviderOf(source.masterKey, 'masterKey option');
  if (source.environmentKey) return LocalMasterKeyProvider.fromBase64(source.environmentKey);
  if (source.production) {
    throw new MasterKeyMissingError(
      'neither KMS_MASTER_KEY nor KMS_MASTER_KEY_PROVIDER is set and NODE_ENV is production',
    );
  }
  return undefined;
}

/**
 * The master key being rotated away from (option, else KMS_MASTER_KEY_PREVIOUS, else the
 * provider KMS_MASTER_KEY_PREVIOUS_PROVIDER names), or undefined. Never generated, never read
 * from a development file.
 */
export async function previousMasterKeyProvider(
  previous: string | Buffer | MasterKeyProvider | undefined,
  providerName: string | undefined,
  env: MasterKeyEnvironment,
): Promise<MasterKeyProvider | undefined> {
  if (previous !== undefined) {
    if (providerName) {
      throw new KmsConfigurationError(
        'KMS_MASTER_KEY_PREVIOUS_PROVIDER and a previous local key (previousMasterKey or KMS_MASTER_KEY_PREVIOUS) are both set: keep one',
      );
    }
    return masterKeyProviderOf(previous, 'KMS_MASTER_KEY_PREVIOUS');
  }
  if (!providerName || providerName === 'local') return undefined;
  return masterKeyProviderFromEnvironment(
    providerName,
    'KMS_MASTER_KEY_PREVIOUS_PROVIDER',
    env,
    'KMS_PREVIOUS_',
  );
}

/**
 * The keyring's additional master keys: the option, else KMS_ADDITIONAL_MASTER_KEY (a local
 * key, base64) and the provider KMS_ADDITIONAL_MASTER_KEY_PROVIDER names (its settings with the
 * KMS_ADDITIONAL_ prefix), in that order.
 */
export async function additionalMasterKeyProviders(
  configured: readonly (string | Buffer | MasterKeyProvider)[] | undefined,
  env: MasterKeyEnvironment,
): Promise<MasterKeyProvider[]> {
  if (configured !== undefined) {
    return configured.map((key, at) => masterKeyProviderOf(key, `additionalMasterKeys[${at}]`));
  }
  const providers: MasterKeyProvider[] = [];
  if (env.KMS_ADDITIONAL_MASTER_KEY) {
    providers.push(masterKeyProviderOf(env.KMS_ADDITIONAL_MASTER_KEY, 'KMS_ADDITIONAL_MASTER_KEY'));
  }
  const name = env.KMS_ADDITIONAL_MASTER_KEY_PROVIDER;
  if (name && name !== 'local') {
    providers.push(
      await masterKeyProviderFromEnvironment(
        name,
        'KMS_ADDITIONAL_MASTER_KEY_PROVIDER',
        env,
        'KMS_ADDITIONAL_',
      ),
    );
  }
  return providers;
}
