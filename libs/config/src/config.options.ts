import { KmsConfigurationError } from '@nest-kms/kms';
import type { KmsConfigModuleOptions } from './interfaces/config-module-options.interface.js';
import { ENV_NAME } from './schema/config-plan.js';

export interface ResolvedConfigOptions {
  actor: string;
  watchSecrets: boolean;
  loadBeforeDependents: boolean;
  envPrefix: string;
  secretPrefix: string;
}

/** What may come before a secret name: the characters a secret name may hold. */
const SECRET_PREFIX = /^[A-Za-z0-9][A-Za-z0-9_./-]{0,63}$/;

/** The one place defaults are merged. */
export function resolveConfigOptions(options: KmsConfigModuleOptions): ResolvedConfigOptions {
  const resolved: ResolvedConfigOptions = {
    actor: options.actor ?? 'nest-kms-config',
    watchSecrets: options.watchSecrets ?? true,
    loadBeforeDependents: options.loadBeforeDependents ?? false,
    envPrefix: options.envPrefix ?? '',
    secretPrefix: options.secretPrefix ?? '',
  };
  if (
    typeof resolved.actor !== 'string' ||
    resolved.actor.length === 0 ||
    resolved.actor.length > 128
  ) {
    throw new KmsConfigurationError('KmsConfigModule option actor must be 1-128 characters');
  }
  for (const name of ['watchSecrets', 'loadBeforeDependents'] as const) {
    if (typeof resolved[name] !== 'boolean') {
      throw new KmsConfigurationError(`KmsConfigModule option ${name} must be a boolean`);
    }
  }
  const { envPrefix, secretPrefix } = resolved;
  if (typeof envPrefix !== 'string' || (envPrefix !== '' && !ENV_NAME.test(envPrefix))) {
    throw new KmsConfigurationError(
      'KmsConfigModule option envPrefix must be a string without = or NUL',
    );
  }
  if (
    typeof secretPrefix !== 'string' ||
    (secretPrefix !== '' && !SECRET_PREFIX.test(secretPrefix))
  ) {
    throw new KmsConfigurationError(
      'KmsConfigModule option secretPrefix must be 1-64 characters: a letter or digit, then letters, digits, _ . - /',
    );
  }
  return resolved;
}
