export { AwsKmsMasterKeyProvider } from './aws-kms-master-key.provider.js';
export { awsKmsMasterKey } from './aws-kms-master-key.js';
export { masterKeyFromEnvironment } from './aws-kms.environment.js';
export type { AwsKmsMasterKeyOptions } from './interfaces/aws-kms-master-key-options.interface.js';
