export { Pkcs11MasterKeyProvider } from './pkcs11-master-key.provider.js';
export { generatePkcs11MasterKey, pkcs11MasterKey } from './pkcs11-master-key.factory.js';
export { masterKeyFromEnvironment } from './pkcs11-environment.js';
export type {
  GeneratePkcs11MasterKeyOptions,
  Pkcs11MasterKeyOptions,
  Pkcs11TokenOptions,
} from './pkcs11-master-key-options.interface.js';
