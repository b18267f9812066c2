export { AzureKeyVaultMasterKeyProvider } from './azure-key-vault-master-key.provider.js';
export { azureKeyVaultMasterKey } from './azure-key-vault-master-key.js';
export { masterKeyFromEnvironment } from './azure-key-vault.environment.js';
export type {
  AzureKeyVaultMasterKeyOptions,
  AzureKeyWrapAlgorithm,
} from './interfaces/azure-key-vault-master-key-options.interface.js';
