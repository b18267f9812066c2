import { AwsKmsMasterKeyProvider } from './aws-kms-master-key.provider.js';
import type { AwsKmsMasterKeyOptions } from './interfaces/aws-kms-master-key-options.interface.js';

/**
 * An AWS KMS master key for KmsModule's `masterKey` option:
 * `KmsModule.forRoot({ masterKey: awsKmsMasterKey({ keyId: 'alias/app', region: 'eu-west-1' }) })`.
 */
export function awsKmsMasterKey(options: AwsKmsMasterKeyOptions): AwsKmsMasterKeyProvider {
  return new AwsKmsMasterKeyProvider(options);
}
