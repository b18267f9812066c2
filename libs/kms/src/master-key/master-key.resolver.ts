import { MasterKeyMissingError } from '../errors/master-key-missing.error.js';
import { LocalMasterKeyProvider } from './local-master-key.provider.js';
import type { MasterKeyProvider } from './master-key-provider.interface.js';

/** Where a master key may come from, in the order they are tried. */
export interface MasterKeySource {
  masterKey?: string | Buffer | MasterKeyProvider;
  developmentMasterKeyFile?: string;
  production: boolean;
  environmentKey?: string;
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
    throw new MasterKeyMissingError('KMS_MASTER_KEY is not set and NODE_ENV is production');
  }
  return undefined;
}

/**
 * The master key being rotated away from (option, else KMS_MASTER_KEY_PREVIOUS), or undefined.
 * Never generated, never read from a development file.
 */
export function previousMasterKeyProvider(
  previous: string | Buffer | MasterKeyProvider | undefined,
): MasterKeyProvider | undefined {
  return previous === undefined
    ? undefined
    : masterKeyProviderOf(previous, 'KMS_MASTER_KEY_PREVIOUS');
}
