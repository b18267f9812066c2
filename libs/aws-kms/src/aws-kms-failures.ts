import { TRANSIENT_NETWORK_CODES } from '@nest-kms/kms/extension';
import {
  DecryptionFailedError,
  MasterKeyProviderError,
  MasterKeyUnavailableError,
} from '@nest-kms/kms';
import { AWS_KMS_PROVIDER_NAME } from './aws-kms.constants.js';

/** The wrapped key does not verify under this key and data key id. */
const DECRYPTION_FAILURES = new Set(['InvalidCiphertextException', 'IncorrectKeyException']);

/** KMS or the way to it is busy or down for now: the keyring retries these. */
const TRANSIENT_ERRORS = new Set([
  'ThrottlingException',
  'LimitExceededException',
  'KMSInternalException',
  'DependencyTimeoutException',
  'KeyUnavailableException',
  'ServiceUnavailableException',
  'InternalFailure',
  // The SDK's names for a request timeout and an aborted signal.
  'TimeoutError',
  'AbortError',
]);

/**
 * Refusals whose KMS message helps an operator (which principal, which key, which state) and
 * quotes nothing of the request. Messages of other errors stay out: they may echo a header.
 */
const REFUSALS_WITH_MESSAGE = new Set([
  'AccessDeniedException',
  'DisabledException',
  'NotFoundException',
  'KMSInvalidStateException',
  'InvalidKeyUsageException',
]);

const MAX_MESSAGE_LENGTH = 300;

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  cause?: unknown;
  $fault?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

/**
 * The typed nest-kms error for a failed KMS call: DecryptionFailedError when the wrapped key
 * does not verify, MasterKeyUnavailableError when a retry may succeed (throttling, 5xx, a
 * timeout, an abort, a network failure), MasterKeyProviderError for any other refusal.
 * Reasons name the operation, the error and the HTTP status, never a key or a credential.
 */
export function kmsCallFailure(operation: string, error: unknown, signal?: AbortSignal): Error {
  const shape = (typeof error === 'object' && error !== null ? error : {}) as SdkErrorShape;
  const name = typeof shape.name === 'string' ? shape.name : 'Error';
  const status =
    typeof shape.$metadata?.httpStatusCode === 'number'
      ? shape.$metadata.httpStatusCode
      : undefined;
  const described = `${operation}: ${name}${status === undefined ? '' : ` (HTTP ${status})`}`;

  if (DECRYPTION_FAILURES.has(name)) return new DecryptionFailedError();
  if (signal?.aborted) return unavailable(`${operation}: aborted`);
  if (TRANSIENT_ERRORS.has(name)) return unavailable(described);
  const code = networkCode(shape);
  if (code !== undefined) return unavailable(`${operation}: ${code}`);
  if (status !== undefined && (status >= 500 || status === 429)) return unavailable(described);
  if (status === undefined && shape.$fault === 'server') return unavailable(described);

  if (name === 'CredentialsProviderError') {
    return refused(`${operation}: no AWS credentials found (${name})`);
  }
  if (typeof shape.message === 'string' && /region is missing/i.test(shape.message)) {
    return refused(`${operation}: no AWS region configured`);
  }
  if (REFUSALS_WITH_MESSAGE.has(name) && typeof shape.message === 'string') {
    return refused(`${described}: ${shape.message.slice(0, MAX_MESSAGE_LENGTH)}`);
  }
  return refused(described);
}

/** A response that names another key than the one asked for. */
export function answeredForAnotherKey(
  operation: string,
  expected: string,
  answered: string | undefined,
): MasterKeyProviderError {
  return refused(
    `${operation} answered for ${answered === undefined ? 'no key' : `key ${answered}`}, not ${expected}`,
  );
}

export function refused(reason: string): MasterKeyProviderError {
  return new MasterKeyProviderError(AWS_KMS_PROVIDER_NAME, reason);
}

function unavailable(reason: string): MasterKeyUnavailableError {
  return new MasterKeyUnavailableError(AWS_KMS_PROVIDER_NAME, reason);
}

/** A Node network error code on the error or its cause (the SDK sometimes wraps them). */
function networkCode(shape: SdkErrorShape): string | undefined {
  for (let current: unknown = shape, depth = 0; depth < 3; depth++) {
    if (typeof current !== 'object' || current === null) return undefined;
    const code = (current as SdkErrorShape).code;
    if (typeof code === 'string' && TRANSIENT_NETWORK_CODES.has(code)) return code;
    current = (current as SdkErrorShape).cause;
  }
  return undefined;
}
