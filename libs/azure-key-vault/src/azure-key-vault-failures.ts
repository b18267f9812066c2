import { TRANSIENT_NETWORK_CODES } from '@nest-kms/kms/extension';
import {
  DecryptionFailedError,
  MasterKeyProviderError,
  MasterKeyUnavailableError,
  NestKmsError,
} from '@nest-kms/kms';
import {
  AZURE_KEY_VAULT_PROVIDER_NAME,
  CONNECT_TIMEOUT_CODE,
} from './azure-key-vault.constants.js';

/** The vault operations a failure can come from. */
export type VaultOperation = 'wrapKey' | 'unwrapKey';

/** The Azure pipeline's own code for a request that could not be sent. */
const REQUEST_SEND_ERROR = 'REQUEST_SEND_ERROR';

export const refused = (reason: string): MasterKeyProviderError =>
  new MasterKeyProviderError(AZURE_KEY_VAULT_PROVIDER_NAME, reason);

export const unavailable = (reason: string): MasterKeyUnavailableError =>
  new MasterKeyUnavailableError(AZURE_KEY_VAULT_PROVIDER_NAME, reason);

/** The key version that answered is not the one configured: never use such an answer. */
export function answeredForAnotherKey(operation: string): MasterKeyProviderError {
  return refused(`${operation} answered for another key than the one configured`);
}

/**
 * The typed error for anything a vault call threw. Reasons are built from status codes, error
 * codes and error names only: an SDK message can quote a URL, a request or a token response.
 */
export function vaultCallFailure(
  operation: VaultOperation,
  error: unknown,
  signal: AbortSignal | undefined,
  requestTimeoutMs: number,
): NestKmsError {
  if (error instanceof NestKmsError) return error;
  if (signal?.aborted) return unavailable(`${operation} was aborted by the caller`);
  const name = error instanceof Error ? error.name : typeof error;
  const fields = (error ?? {}) as {
    statusCode?: unknown;
    code?: unknown;
    details?: { error?: { innerError?: { code?: unknown } } };
    errors?: unknown;
  };
  const status = typeof fields.statusCode === 'number' ? fields.statusCode : undefined;
  if (name === 'AbortError') {
    return unavailable(`${operation} had no answer within ${requestTimeoutMs} ms`);
  }
  if (name === 'RestError') {
    return restFailure(operation, status, safeCode(fields.code), safeCode(innerCodeOf(fields)));
  }
  if (name === 'AuthenticationError') return tokenFailure(status);
  if (name === 'AggregateAuthenticationError') {
    const transient = (Array.isArray(fields.errors) ? fields.errors : []).some((inner: unknown) => {
      const innerStatus = (inner as { statusCode?: unknown } | null)?.statusCode;
      return typeof innerStatus === 'number' && isTransientStatus(innerStatus);
    });
    return transient
      ? unavailable('no Azure credential could get a token (the identity service failed)')
      : refused('no Azure credential could get a token for the vault');
  }
  if (name === 'CredentialUnavailableError') {
    return refused('no Azure credential is available (configure one for DefaultAzureCredential)');
  }
  return sdkRefusal(operation, error, name);
}

function restFailure(
  operation: VaultOperation,
  status: number | undefined,
  code: string | undefined,
  innerCode: string | undefined,
): NestKmsError {
  if (status === undefined) {
    if (code === CONNECT_TIMEOUT_CODE) return unavailable(`${operation}: connecting timed out`);
    if (code !== undefined && (TRANSIENT_NETWORK_CODES.has(code) || code === REQUEST_SEND_ERROR)) {
      return unavailable(`${operation}: connection failed (${code})`);
    }
    // Certificate and protocol failures: the same every time until someone fixes them.
    return refused(`${operation}: connection failed (${code ?? 'no error code'})`);
  }
  const said = `HTTP ${status}${code ? ` ${code}` : ''}${innerCode ? `/${innerCode}` : ''}`;
  if (isTransientStatus(status)) return unavailable(`${operation}: ${said}`);
  if (status === 401 || status === 403) return refused(`${operation}: access denied (${said})`);
  if (status === 404) return refused(`${operation}: key not found (${said})`);
  // Key Vault's answer to a wrapped value that does not decrypt under the key, e.g. "Error
  // occurred while decoding OAEP padding": the wrapped key is not this key's.
  if (status === 400 && operation === 'unwrapKey' && code === 'BadParameter') {
    return new DecryptionFailedError();
  }
  return refused(`${operation}: the vault refused the request (${said})`);
}

function tokenFailure(status: number | undefined): NestKmsError {
  return status !== undefined && isTransientStatus(status)
    ? unavailable(`getting a token failed (HTTP ${status})`)
    : refused(`getting a token failed${status === undefined ? '' : ` (HTTP ${status})`}`);
}

/** Checks the SDK makes before calling: their messages name the problem, which we restate. */
function sdkRefusal(operation: VaultOperation, error: unknown, name: string): NestKmsError {
  const message = error instanceof Error ? error.message : '';
  if (/expired at|can't be used before/.test(message)) {
    return refused(`${operation}: the key is expired or not yet valid`);
  }
  if (/is not supported on key/.test(message)) {
    return refused(`${operation}: the key does not permit ${operation}`);
  }
  if (/challenge/i.test(message)) {
    return refused(
      `${operation}: the vault's authentication challenge names another resource than the vault`,
    );
  }
  return refused(`${operation}: unexpected ${name} from the Azure SDK`);
}

function isTransientStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

function innerCodeOf(fields: {
  details?: { error?: { innerError?: { code?: unknown } } };
}): unknown {
  return fields.details?.error?.innerError?.code;
}

/** A service or Node error code fit for a reason: a short identifier, nothing quoted. */
function safeCode(code: unknown): string | undefined {
  return typeof code === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(code) ? code : undefined;
}
