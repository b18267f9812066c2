import {
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  KMSClient,
  type KMSClientConfig,
} from '@aws-sdk/client-kms';
import {
  DecryptionFailedError,
  InvalidInputError,
  KmsConfigurationError,
  type MasterKeyCallOptions,
  type MasterKeyProvider,
} from '@nest-kms/kms';
import {
  AWS_KMS_PROVIDER_NAME,
  AWS_KMS_WRAP_FORMAT,
  DATA_KEY_BYTES,
  DATA_KEY_ID_CONTEXT,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  MAX_CIPHERTEXT_BLOB_BYTES,
  MAX_FINGERPRINT_LENGTH,
  PURPOSE_CONTEXT,
  PURPOSE_DATA_KEY,
} from './aws-kms.constants.js';
import { answeredForAnotherKey, kmsCallFailure, refused } from './aws-kms-failures.js';
import type { AwsKmsMasterKeyOptions } from './interfaces/aws-kms-master-key-options.interface.js';
import { answersFor, resolvedKeyOf, type ResolvedKey } from './key-arn.js';

/**
 * A master key that never leaves AWS KMS: data keys are wrapped with KMS Encrypt and unwrapped
 * with Decrypt under a symmetric KMS key, the data key id bound in the encryption context.
 * Wrapped layout: 0xA1 | KMS ciphertext blob.
 */
export class AwsKmsMasterKeyProvider implements MasterKeyProvider {
  /** `aws-kms`, in fingerprints, metrics labels, logs and errors. */
  readonly name = AWS_KMS_PROVIDER_NAME;
  private readonly client: KMSClient;
  private readonly ownsClient: boolean;
  private readonly keyId: string;
  private readonly grantTokens: string[] | undefined;
  private resolved: ResolvedKey | undefined;

  /** Builds its own KMSClient unless `options.client` is given; calls KMS only when used. */
  constructor(options: AwsKmsMasterKeyOptions) {
    if (typeof options.keyId !== 'string' || options.keyId.trim() === '') {
      throw new KmsConfigurationError('aws-kms: keyId is required (a key id, key ARN or alias)');
    }
    this.keyId = options.keyId.trim();
    this.grantTokens = options.grantTokens?.length ? [...options.grantTokens] : undefined;
    if (options.client !== undefined) {
      const conflicting = (
        ['region', 'endpoint', 'credentials', 'connectTimeoutMs', 'requestTimeoutMs'] as const
      ).filter((field) => options[field] !== undefined);
      if (conflicting.length > 0) {
        throw new KmsConfigurationError(
          `aws-kms: ${conflicting.join(', ')} cannot be set with client; configure the client instead`,
        );
      }
      this.client = options.client;
      this.ownsClient = false;
    } else {
      this.client = new KMSClient(clientConfig(options));
      this.ownsClient = true;
    }
  }

  /** `aws-kms:<key ARN>`, the Region as `*` for a multi-Region key. One DescribeKey per instance. */
  async fingerprint(options?: MasterKeyCallOptions): Promise<string> {
    return `${this.name}:${(await this.resolveKey(options?.signal)).identity}`;
  }

  /** KMS Encrypt of the 32-byte data key, `keyId` in the encryption context. */
  async wrapDataKey(
    dataKey: Buffer,
    keyId: string,
    options?: MasterKeyCallOptions,
  ): Promise<Buffer> {
    /* Precondition: a data key is 32 bytes; anything else could not be unwrapped. */
    if (!Buffer.isBuffer(dataKey) || dataKey.length !== DATA_KEY_BYTES) {
      throw new InvalidInputError('dataKey', `must be a ${DATA_KEY_BYTES}-byte Buffer`);
    }
    const key = await this.resolveKey(options?.signal);
    const signal = options?.signal;
    let response;
    try {
      response = await this.client.send(
        new EncryptCommand({
          KeyId: key.arn,
          Plaintext: dataKey,
          EncryptionContext: encryptionContext(keyId),
          GrantTokens: this.grantTokens,
        }),
        { abortSignal: signal },
      );
    } catch (error) {
      throw kmsCallFailure('Encrypt', error, signal);
    }
    if (!answersFor(key, response.KeyId)) {
      throw answeredForAnotherKey('Encrypt', key.arn, response.KeyId);
    }
    const blob = response.CiphertextBlob;
    if (blob === undefined || blob.length === 0 || blob.length > MAX_CIPHERTEXT_BLOB_BYTES) {
      throw refused('Encrypt answered without a usable ciphertext blob');
    }
    return Buffer.concat([Buffer.of(AWS_KMS_WRAP_FORMAT), blob]);
  }

  /**
   * KMS Decrypt pinned to the resolved key, with the same encryption context: a blob altered,
   * bound to another data key id or made by another key fails with DecryptionFailedError.
   */
  async unwrapDataKey(
    wrappedKey: Buffer,
    keyId: string,
    options?: MasterKeyCallOptions,
  ): Promise<Buffer> {
    /* Precondition: this provider's format, and a blob KMS could have made. */
    if (
      !Buffer.isBuffer(wrappedKey) ||
      wrappedKey.length < 2 ||
      wrappedKey.length > 1 + MAX_CIPHERTEXT_BLOB_BYTES ||
      wrappedKey[0] !== AWS_KMS_WRAP_FORMAT
    ) {
      throw new DecryptionFailedError();
    }
    const key = await this.resolveKey(options?.signal);
    const signal = options?.signal;
    let response;
    try {
      response = await this.client.send(
        new DecryptCommand({
          // Pinned: KMS refuses (IncorrectKeyException) a blob of any other key.
          KeyId: key.arn,
          CiphertextBlob: wrappedKey.subarray(1),
          EncryptionContext: encryptionContext(keyId),
          GrantTokens: this.grantTokens,
        }),
        { abortSignal: signal },
      );
    } catch (error) {
      throw kmsCallFailure('Decrypt', error, signal);
    }
    const plaintext = response.Plaintext;
    try {
      if (!answersFor(key, response.KeyId)) {
        throw answeredForAnotherKey('Decrypt', key.arn, response.KeyId);
      }
      /* Postcondition: what KMS returns under this context is a data key. */
      if (plaintext === undefined || plaintext.length !== DATA_KEY_BYTES) {
        throw new DecryptionFailedError();
      }
      return Buffer.from(plaintext);
    } finally {
      // The SDK's copy of the data key: ours is the returned Buffer.
      plaintext?.fill(0);
    }
  }

  /** Destroys the client this provider built; a client passed in stays its owner's. */
  destroy(): void {
    if (this.ownsClient) this.client.destroy();
  }

  /** The key ARN behind `keyId` (DescribeKey), kept once KMS has answered. */
  private async resolveKey(signal: AbortSignal | undefined): Promise<ResolvedKey> {
    if (this.resolved !== undefined) return this.resolved;
    let response;
    try {
      response = await this.client.send(
        new DescribeKeyCommand({ KeyId: this.keyId, GrantTokens: this.grantTokens }),
        { abortSignal: signal },
      );
    } catch (error) {
      throw kmsCallFailure('DescribeKey', error, signal);
    }
    const metadata = response.KeyMetadata;
    const key =
      metadata?.Arn === undefined
        ? undefined
        : resolvedKeyOf(metadata.Arn, metadata.MultiRegion === true);
    if (metadata === undefined || key === undefined) {
      throw refused('DescribeKey answered without a key ARN');
    }
    if (metadata.KeySpec !== 'SYMMETRIC_DEFAULT' || metadata.KeyUsage !== 'ENCRYPT_DECRYPT') {
      throw refused(
        `key ${key.arn} is ${metadata.KeySpec ?? 'of unknown spec'} for ${metadata.KeyUsage ?? 'unknown usage'}; a SYMMETRIC_DEFAULT key for ENCRYPT_DECRYPT is needed`,
      );
    }
    if (metadata.KeyState !== 'Enabled' || metadata.Enabled === false) {
      throw refused(`key ${key.arn} is ${metadata.KeyState ?? 'not enabled'}`);
    }
    if (this.name.length + 1 + key.identity.length > MAX_FINGERPRINT_LENGTH) {
      throw refused(`key ARN ${key.arn} is too long for a fingerprint`);
    }
    this.resolved = key;
    return key;
  }
}

function encryptionContext(dataKeyId: string): Record<string, string> {
  return { [DATA_KEY_ID_CONTEXT]: dataKeyId, [PURPOSE_CONTEXT]: PURPOSE_DATA_KEY };
}

function clientConfig(options: AwsKmsMasterKeyOptions): KMSClientConfig {
  return {
    region: options.region,
    endpoint: options.endpoint,
    credentials: options.credentials,
    // nest-kms bounds and retries each provider call itself (with backoff, under one deadline);
    // SDK retries inside that would multiply attempts and outlive the caller's timeout.
    maxAttempts: 1,
    // The SDK waits forever by default: a dead endpoint must fail the call as unavailable.
    requestHandler: {
      connectionTimeout: timeoutOf(
        'connectTimeoutMs',
        options.connectTimeoutMs,
        DEFAULT_CONNECT_TIMEOUT_MS,
      ),
      requestTimeout: timeoutOf(
        'requestTimeoutMs',
        options.requestTimeoutMs,
        DEFAULT_REQUEST_TIMEOUT_MS,
      ),
      // Without it a request timeout only logs a warning.
      throwOnRequestTimeout: true,
    },
  };
}

function timeoutOf(field: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0) {
    throw new KmsConfigurationError(
      `aws-kms: ${field} must be a positive whole number of milliseconds`,
    );
  }
  return value;
}
