import { KmsConfigurationError, type MasterKeyProvider } from '@nest-kms/kms';
import { environmentSetting, environmentWholeNumber } from '@nest-kms/kms/extension';
import { AwsKmsMasterKeyProvider } from './aws-kms-master-key.provider.js';

/**
 * The AWS KMS master key configured by environment variables, as nest-kms builds it when
 * KMS_MASTER_KEY_PROVIDER=aws-kms: KMS_AWS_KMS_KEY_ID (required), KMS_AWS_KMS_REGION (else
 * AWS_REGION, else the SDK's default), KMS_AWS_KMS_ENDPOINT, KMS_AWS_KMS_GRANT_TOKENS
 * (comma-separated), KMS_AWS_KMS_CONNECT_TIMEOUT_MS, KMS_AWS_KMS_REQUEST_TIMEOUT_MS.
 * Credentials come from the SDK's default chain only.
 */
export function masterKeyFromEnvironment(
  env: Readonly<Record<string, string | undefined>>,
): MasterKeyProvider {
  const keyId = environmentSetting(env, 'KMS_AWS_KMS_KEY_ID');
  if (keyId === undefined) {
    throw new KmsConfigurationError(
      'KMS_AWS_KMS_KEY_ID is required with KMS_MASTER_KEY_PROVIDER=aws-kms (a key id, key ARN or alias/name)',
    );
  }
  const grantTokens = environmentSetting(env, 'KMS_AWS_KMS_GRANT_TOKENS')
    ?.split(',')
    .map((token) => token.trim())
    .filter((token) => token !== '');
  return new AwsKmsMasterKeyProvider({
    keyId,
    region: environmentSetting(env, 'KMS_AWS_KMS_REGION') ?? environmentSetting(env, 'AWS_REGION'),
    endpoint: endpointOf(environmentSetting(env, 'KMS_AWS_KMS_ENDPOINT')),
    grantTokens,
    connectTimeoutMs: environmentWholeNumber(env, 'KMS_AWS_KMS_CONNECT_TIMEOUT_MS'),
    requestTimeoutMs: environmentWholeNumber(env, 'KMS_AWS_KMS_REQUEST_TIMEOUT_MS'),
  });
}

function endpointOf(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!URL.canParse(value) || !/^https?:$/.test(new URL(value).protocol)) {
    throw new KmsConfigurationError(
      'KMS_AWS_KMS_ENDPOINT must be an http(s) URL, e.g. https://kms.eu-west-1.amazonaws.com',
    );
  }
  return value;
}
