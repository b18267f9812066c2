import { DefaultAzureCredential } from '@azure/identity';
import { CryptographyClient, type WrapKeyOptions } from '@azure/keyvault-keys';
import {
  DecryptionFailedError,
  InvalidInputError,
  KmsConfigurationError,
  type MasterKeyCallOptions,
  type MasterKeyProvider,
} from '@nest-kms/kms';
import {
  A256KW_WRAPPED_BYTES,
  AZURE_KEY_VAULT_PROVIDER_NAME,
  AZURE_KEY_VAULT_WRAP_FORMAT,
  DATA_KEY_BYTES,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  KEY_TYPES_FOR,
  WRAP_ALGORITHM_IDS,
} from './azure-key-vault.constants.js';
import {
  answeredForAnotherKey,
  refused,
  vaultCallFailure,
  type VaultOperation,
} from './azure-key-vault-failures.js';
import { ConnectTimeoutAgent } from './connect-timeout-agent.js';
import { boundDataKey, dataKeyFrom } from './data-key-binding.js';
import type {
  AzureKeyVaultMasterKeyOptions,
  AzureKeyWrapAlgorithm,
} from './interfaces/azure-key-vault-master-key-options.interface.js';
import {
  fingerprintOf,
  namesKey,
  vaultKeyIdentifierOf,
  type VaultKeyIdentifier,
} from './key-identifier.js';

/**
 * A master key that never leaves Azure Key Vault or Managed HSM: data keys are wrapped with the
 * vault's wrapKey and unwrapped with unwrapKey under one key version.
 *
 * RSA-OAEP-256 and AES key wrap take no associated data, so the vault wraps the data key followed
 * by SHA-256 of its id (and 16 random bytes, as AES key wrap is deterministic), and unwrap checks
 * the id's hash in constant time: a wrapped key moved to another id's row does not open. With an RSA key anyone holding the public key can make such a
 * wrap, so someone able to write the keyring table could plant a data key of their choosing;
 * an AES key in Managed HSM (A256KW) wraps only inside the HSM and has no such weakness.
 *
 * Wrapped layout: 0x01 | algorithm (0x01 RSA-OAEP-256, 0x02 A256KW) | the vault's wrapped bytes.
 */
export class AzureKeyVaultMasterKeyProvider implements MasterKeyProvider {
  /** `azure-key-vault`, in metrics, logs, errors and the fingerprint. */
  readonly name = AZURE_KEY_VAULT_PROVIDER_NAME;
  /** The key version URL the provider wraps under. */
  readonly keyId: string;
  /** The wrap algorithm every call uses. */
  readonly algorithm: AzureKeyWrapAlgorithm;
  private readonly key: VaultKeyIdentifier;
  private readonly client: CryptographyClient;
  private readonly agent: ConnectTimeoutAgent | undefined;
  private readonly requestTimeoutMs: number;
  /** Set once the vault described the key as unusable here; every later call is refused. */
  private standingRefusal: Error | undefined;

  constructor(options: AzureKeyVaultMasterKeyOptions) {
    this.key = vaultKeyIdentifierOf(options.keyId);
    this.keyId = this.key.url;
    this.algorithm = algorithmOf(options.algorithm);
    const connectTimeoutMs = millisecondsOf(
      'connectTimeoutMs',
      options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    );
    this.requestTimeoutMs = millisecondsOf(
      'requestTimeoutMs',
      options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    );
    const clientOptions = options.clientOptions ?? {};
    this.agent =
      clientOptions.agent === undefined
        ? new ConnectTimeoutAgent(connectTimeoutMs, { ...clientOptions.tlsOptions })
        : undefined;
    this.client = new CryptographyClient(
      this.key.url,
      options.credential ?? new DefaultAzureCredential(),
      {
        ...clientOptions,
        ...(this.agent === undefined ? {} : { agent: this.agent }),
        // None: the nest-kms keyring retries transient failures with backoff within each call's
        // time limit; retries in the SDK underneath would multiply attempts and outlast it.
        retryOptions: { maxRetries: 0 },
      },
    );
  }

  /** `azure-key-vault:<vault host>/keys/<name>/<version>`, from the key URL: no call to the vault. */
  fingerprint(): Promise<string> {
    return Promise.resolve(fingerprintOf(this.key));
  }

  /** Wraps a 32-byte data key with the vault's wrapKey, its id bound inside the wrapped bytes. */
  async wrapDataKey(
    dataKey: Buffer,
    keyId: string,
    options?: MasterKeyCallOptions,
  ): Promise<Buffer> {
    /* Precondition: a data key is 32 bytes; anything else could not be unwrapped. */
    if (!Buffer.isBuffer(dataKey) || dataKey.length !== DATA_KEY_BYTES) {
      throw new InvalidInputError('dataKey', `must be a ${DATA_KEY_BYTES}-byte Buffer`);
    }
    const bound = boundDataKey(dataKey, keyId);
    let wrapped: Uint8Array;
    try {
      wrapped = await this.call('wrapKey', options?.signal, (callOptions) =>
        this.client.wrapKey(this.algorithm, bound, callOptions),
      );
    } finally {
      bound.fill(0);
    }
    /* Postcondition: bytes an unwrap can take back (RFC 3394 adds exactly 8 to 80). */
    if (
      wrapped.length === 0 ||
      (this.algorithm === 'A256KW' && wrapped.length !== A256KW_WRAPPED_BYTES)
    ) {
      throw refused('wrapKey answered without a usable wrapped key');
    }
    return Buffer.concat([
      Buffer.of(AZURE_KEY_VAULT_WRAP_FORMAT, WRAP_ALGORITHM_IDS[this.algorithm]),
      wrapped,
    ]);
  }

  /**
   * Unwraps with the vault's unwrapKey; DecryptionFailedError when the wrapped key is not this
   * key version's or is bound to another data key id.
   */
  async unwrapDataKey(
    wrappedKey: Buffer,
    keyId: string,
    options?: MasterKeyCallOptions,
  ): Promise<Buffer> {
    /* Precondition: this provider's format, made with the algorithm configured. */
    if (
      !Buffer.isBuffer(wrappedKey) ||
      wrappedKey.length < 3 ||
      wrappedKey[0] !== AZURE_KEY_VAULT_WRAP_FORMAT ||
      wrappedKey[1] !== WRAP_ALGORITHM_IDS[this.algorithm] ||
      (this.algorithm === 'A256KW' && wrappedKey.length !== 2 + A256KW_WRAPPED_BYTES)
    ) {
      throw new DecryptionFailedError();
    }
    const bound = await this.call('unwrapKey', options?.signal, (callOptions) =>
      this.client.unwrapKey(this.algorithm, wrappedKey.subarray(2), callOptions),
    );
    try {
      /* Postcondition: the vault gave back a data key bound to this id. */
      const key = dataKeyFrom(bound, keyId);
      if (key === undefined) throw new DecryptionFailedError();
      return key;
    } finally {
      // The SDK's copy of the data key: ours is the returned Buffer.
      bound.fill(0);
    }
  }

  /** Closes the connections this provider opened; a `clientOptions.agent` stays its owner's. */
  destroy(): void {
    this.agent?.destroy();
  }

  /**
   * One SDK operation, bounded by the request timeout and the caller's signal, its answers
   * checked to be about this key version. Returns the operation's bytes (the caller's to zero).
   */
  private async call(
    operation: VaultOperation,
    signal: AbortSignal | undefined,
    send: (options: WrapKeyOptions) => Promise<{ result: Uint8Array }>,
  ): Promise<Uint8Array> {
    if (this.standingRefusal !== undefined) throw this.standingRefusal;
    const answers: unknown[] = [];
    let result: Uint8Array | undefined;
    try {
      ({ result } = await send({
        abortSignal: signal,
        requestOptions: { timeout: this.requestTimeoutMs },
        // The SDK reports the key it was asked about, not the one the vault answered for.
        onResponse: (response) => {
          if (response.status === 200) answers.push(response.parsedBody);
        },
      }));
    } catch (error) {
      this.noteKeyDescription(answers);
      throw (
        this.standingRefusal ?? vaultCallFailure(operation, error, signal, this.requestTimeoutMs)
      );
    }
    try {
      this.noteKeyDescription(answers);
      if (this.standingRefusal !== undefined) throw this.standingRefusal;
      if (!answers.some((answer) => isOperationAnswer(answer) && namesKey(this.key, answer.kid))) {
        throw answeredForAnotherKey(operation);
      }
      if (!(result instanceof Uint8Array)) throw refused(`${operation} answered without a value`);
      return result;
    } catch (error) {
      if (result instanceof Uint8Array) result.fill(0);
      throw error;
    }
  }

  /**
   * The SDK reads the key once (GET /keys/<name>/<version>) and keeps what it read, so a
   * description of another key or of a key unfit for the algorithm stands for this instance.
   */
  private noteKeyDescription(answers: readonly unknown[]): void {
    for (const answer of answers) {
      const described = (answer as { key?: { kid?: unknown; kty?: unknown } } | null)?.key;
      if (typeof described !== 'object' || described === null) continue;
      if (!namesKey(this.key, described.kid)) {
        this.standingRefusal ??= answeredForAnotherKey('getKey');
      } else if (!(KEY_TYPES_FOR[this.algorithm] as readonly unknown[]).includes(described.kty)) {
        const type =
          typeof described.kty === 'string' && /^[A-Za-z-]{1,16}$/.test(described.kty)
            ? described.kty
            : 'of another type';
        this.standingRefusal ??= refused(
          `the key is ${type}, which cannot do ${this.algorithm} (needs ${KEY_TYPES_FOR[this.algorithm].join(' or ')})`,
        );
      }
    }
  }
}

function isOperationAnswer(answer: unknown): answer is { kid: unknown } {
  return typeof answer === 'object' && answer !== null && 'kid' in answer && !('key' in answer);
}

function algorithmOf(algorithm: unknown): AzureKeyWrapAlgorithm {
  if (algorithm === undefined) return 'RSA-OAEP-256';
  if (typeof algorithm === 'string' && Object.hasOwn(WRAP_ALGORITHM_IDS, algorithm)) {
    return algorithm as AzureKeyWrapAlgorithm;
  }
  throw new KmsConfigurationError(
    `${AZURE_KEY_VAULT_PROVIDER_NAME}: algorithm must be one of ${Object.keys(WRAP_ALGORITHM_IDS).join(', ')}`,
  );
}

function millisecondsOf(option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 2 ** 31 - 1) {
    throw new KmsConfigurationError(
      `${AZURE_KEY_VAULT_PROVIDER_NAME}: ${option} must be a positive whole number of milliseconds`,
    );
  }
  return value;
}
