import type { KMSClient, KMSClientConfig } from '@aws-sdk/client-kms';

/** How to reach the AWS KMS key that wraps the data keys. */
export interface AwsKmsMasterKeyOptions {
  /**
   * The KMS key: a key id, a key ARN, an alias name (`alias/...`) or an alias ARN; multi-Region
   * keys (`mrk-...`) included. Resolved once to its key ARN (DescribeKey), which later calls use.
   */
  readonly keyId: string;
  /**
   * The AWS Region to call. Not with `client`.
   * @default the SDK's default (AWS_REGION, then the shared config file)
   */
  readonly region?: string;
  /**
   * Another endpoint than the Region's public one, e.g. a VPC endpoint
   * (`https://vpce-...kms.eu-west-1.vpce.amazonaws.com`). Not with `client`.
   * @default the Region's KMS endpoint
   */
  readonly endpoint?: string;
  /**
   * Credentials or a credential provider. Not with `client`.
   * @default the SDK's default chain (environment, profiles, SSO, container and instance roles)
   */
  readonly credentials?: KMSClientConfig['credentials'];
  /**
   * Grant tokens passed with every call, for a grant that is not yet eventually consistent.
   * @default none
   */
  readonly grantTokens?: readonly string[];
  /**
   * Time to establish a connection before the call fails as unavailable. Not with `client`.
   * @default 3000
   */
  readonly connectTimeoutMs?: number;
  /**
   * Time for a whole request and its response before the call fails as unavailable. Not with
   * `client`.
   * @default 10000
   */
  readonly requestTimeoutMs?: number;
  /**
   * A KMSClient to use instead of one built from the options above. Its owner configures it
   * (give it `maxAttempts: 1` and timeouts: nest-kms retries by itself) and destroys it.
   * @default a client built from region, endpoint, credentials and the timeouts
   */
  readonly client?: KMSClient;
}
