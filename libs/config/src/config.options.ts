import { KmsConfigurationError } from '@nest-kms/kms';
import type { KmsConfigModuleOptions } from './interfaces/config-module-options.interface.js';

export interface ResolvedConfigOptions {
  actor: string;
  watchSecrets: boolean;
}

/** The one place defaults are merged. */
export function resolveConfigOptions(options: KmsConfigModuleOptions): ResolvedConfigOptions {
  const resolved: ResolvedConfigOptions = {
    actor: options.actor ?? 'nest-kms-config',
    watchSecrets: options.watchSecrets ?? true,
  };
  if (
    typeof resolved.actor !== 'string' ||
    resolved.actor.length === 0 ||
    resolved.actor.length > 128
  ) {
    throw new KmsConfigurationError('KmsConfigModule option actor must be 1-128 characters');
  }
  if (typeof resolved.watchSecrets !== 'boolean') {
    throw new KmsConfigurationError('KmsConfigModule option watchSecrets must be a boolean');
  }
  return resolved;
}
