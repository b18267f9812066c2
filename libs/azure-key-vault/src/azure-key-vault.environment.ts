import { KmsConfigurationError, type MasterKeyProvider } from '@nest-kms/kms';
import { environmentSetting, environmentWholeNumber } from '@nest-kms/kms/extension';
import { WRAP_ALGORITHM_IDS } from './azure-key-vault.constants.js';
import { AzureKeyVaultMasterKeyProvider } from './azure-key-vault-master-key.provider.js';
import type { AzureKeyWrapAlgorithm } from './interfaces/azure-key-vault-master-key-options.interface.js';

/**
 * The Azure Key Vault master key configured by environment variables, as nest-kms builds it when
 * KMS_MASTER_KEY_PROVIDER=azure-key-vault: KMS_AZURE_KEY_VAULT_KEY_ID (required, the URL of one
 * key version), KMS_AZURE_KEY_VAULT_ALGORITHM (RSA-OAEP-256 or A256KW),
 * KMS_AZURE_KEY_VAULT_CONNECT_TIMEOUT_MS, KMS_AZURE_KEY_VAULT_REQUEST_TIMEOUT_MS. Credentials
 * come from DefaultAzureCredential only, which reads the process environment (AZURE_TENANT_ID,
 * AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, a workload or managed identity, …).
 */
export function masterKeyFromEnvironment(
  env: Readonly<Record<string, string | undefined>>,
): MasterKeyProvider {
  const keyId = environmentSetting(env, 'KMS_AZURE_KEY_VAULT_KEY_ID');
  if (keyId === undefined) {
    throw new KmsConfigurationError(
      'KMS_AZURE_KEY_VAULT_KEY_ID is required with KMS_MASTER_KEY_PROVIDER=azure-key-vault (https://<vault>.vault.azure.net/keys/<name>/<version>)',
    );
  }
  try {
    return new AzureKeyVaultMasterKeyProvider({
      keyId,
      algorithm: algorithmOf(env, 'KMS_AZURE_KEY_VAULT_ALGORITHM'),
      connectTimeoutMs: environmentWholeNumber(env, 'KMS_AZURE_KEY_VAULT_CONNECT_TIMEOUT_MS'),
      requestTimeoutMs: environmentWholeNumber(env, 'KMS_AZURE_KEY_VAULT_REQUEST_TIMEOUT_MS'),
    });
  } catch (error) {
    if (error instanceof KmsConfigurationError && /keyId/.test(error.message)) {
      throw new KmsConfigurationError(
        'KMS_AZURE_KEY_VAULT_KEY_ID must be the URL of one key version, https://<vault>.vault.azure.net/keys/<name>/<version> (or https://<hsm>.managedhsm.azure.net/keys/<name>/<version>)',
      );
    }
    throw error;
  }
}

function algorithmOf(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
): AzureKeyWrapAlgorithm | undefined {
  const value = environmentSetting(env, name);
  if (value === undefined) return undefined;
  if (!Object.hasOwn(WRAP_ALGORITHM_IDS, value)) {
    throw new KmsConfigurationError(
      `${name} must be one of ${Object.keys(WRAP_ALGORITHM_IDS).join(', ')}, got ${JSON.stringify(value)}`,
    );
  }
  return value as AzureKeyWrapAlgorithm;
}
