import { AzureKeyVaultMasterKeyProvider } from './azure-key-vault-master-key.provider.js';
import type { AzureKeyVaultMasterKeyOptions } from './interfaces/azure-key-vault-master-key-options.interface.js';

/**
 * An Azure Key Vault or Managed HSM master key, for KmsModule's `masterKey` option:
 * `KmsModule.forRoot({ masterKey: azureKeyVaultMasterKey({ keyId }) })`.
 */
export function azureKeyVaultMasterKey(
  options: AzureKeyVaultMasterKeyOptions,
): AzureKeyVaultMasterKeyProvider {
  return new AzureKeyVaultMasterKeyProvider(options);
}
