import { KmsConfigurationError } from '../errors/kms-configuration.error.js';
import { quotedInput } from '../errors/quoted-input.js';
import type { MasterKeyProvider } from './master-key-provider.interface.js';

/** The environment as a provider package reads it. */
export type MasterKeyEnvironment = Readonly<Record<string, string | undefined>>;

/**
 * Master-key providers that can be chosen by name from the environment
 * (KMS_MASTER_KEY_PROVIDER), and the package each lives in. Each package exports
 * `masterKeyFromEnvironment(env)`. They are separate packages so that @nest-kms/kms carries no
 * cloud SDK: an application installs the one it uses.
 */
export const MASTER_KEY_PROVIDER_PACKAGES: Readonly<Record<string, string>> = {
  'aws-kms': '@nest-kms/aws-kms',
  'azure-key-vault': '@nest-kms/azure-key-vault',
  pkcs11: '@nest-kms/pkcs11',
};

/** What a provider package exports for configuration from the environment. */
interface ProviderPackage {
  masterKeyFromEnvironment?: (env: MasterKeyEnvironment) => MasterKeyProvider;
}

/**
 * The provider `name` (from `variable`) configured from `env`, loaded from its package. With a
 * `prefix` (KMS_PREVIOUS_ for the previous master key, KMS_ADDITIONAL_ for an additional one,
 * KMS_NEW_ for the target of the CLI's master-key rotation),
 * a variable with that prefix stands for the same one without it (KMS_PREVIOUS_AWS_KMS_KEY_ID
 * for KMS_AWS_KMS_KEY_ID), so two keys of one provider can be configured side by side.
 */
export async function masterKeyProviderFromEnvironment(
  name: string,
  variable: string,
  env: MasterKeyEnvironment,
  prefix?: `KMS_${string}_`,
): Promise<MasterKeyProvider> {
  const packageName = Object.hasOwn(MASTER_KEY_PROVIDER_PACKAGES, name)
    ? MASTER_KEY_PROVIDER_PACKAGES[name]
    : undefined;
  if (packageName === undefined) {
    throw new KmsConfigurationError(
      `${variable} names no known provider (${quotedInput(name)}); use one of local, ${Object.keys(MASTER_KEY_PROVIDER_PACKAGES).join(', ')}`,
    );
  }
  let loaded: ProviderPackage;
  try {
    loaded = (await import(packageName)) as ProviderPackage;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException | null)?.code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new KmsConfigurationError(
        `${variable}=${name} needs the package ${packageName}: npm install ${packageName}`,
      );
    }
    throw error;
  }
  if (typeof loaded.masterKeyFromEnvironment !== 'function') {
    throw new KmsConfigurationError(
      `${packageName} does not export masterKeyFromEnvironment: install a version that matches @nest-kms/kms`,
    );
  }
  return loaded.masterKeyFromEnvironment(prefix ? prefixedView(env, prefix) : env);
}

function prefixedView(env: MasterKeyEnvironment, prefix: string): MasterKeyEnvironment {
  const view: Record<string, string | undefined> = { ...env };
  for (const [name, value] of Object.entries(env)) {
    if (name.startsWith(prefix)) view[`KMS_${name.slice(prefix.length)}`] = value;
  }
  return view;
}
