import { randomBytes } from 'node:crypto';
import {
  DecryptionFailedError,
  KmsConfigurationError,
  MasterKeyProviderError,
  MasterKeyUnavailableError,
  type MasterKeyCallOptions,
  type MasterKeyProvider,
} from '@nest-kms/kms';
import {
  DATA_KEY_BYTES,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  IV_BYTES,
  PKCS11_PROVIDER_NAME,
  TAG_BYTES,
  WRAP_FORMAT,
  WRAPPED_BYTES,
} from './pkcs11.constants.js';
import {
  isAmbiguousOnDecrypt,
  isNotAuthentic,
  isNotInitialized,
  isPinRefusal,
  providerFailure,
} from './pkcs11-failures.js';
import { pkcs11, type Pkcs11Handle } from './pkcs11-library.js';
import type { Pkcs11MasterKeyOptions } from './pkcs11-master-key-options.interface.js';
import { pinFromOptions } from './pkcs11-pin.js';
import { bindingOf, gcm } from './aes-gcm-mechanism.js';
import { SerialQueue } from './serial-queue.js';
import { SharedModule } from './shared-module.js';
import { openTokenSession, type TokenSession } from './token-session.js';

const SELF_CHECK_BINDING = Buffer.from('nest-kms/pkcs11/self-check', 'utf8');

/**
 * A master key that never leaves a PKCS#11 token (an HSM, SoftHSM2): an AES-256 secret key,
 * sensitive and not extractable. Data keys go to the token as data and are sealed with
 * C_Encrypt under CKM_AES_GCM: a random 12-byte IV per wrap, the data key id in the additional
 * data (`nest-kms/data-key/v1:<id>`), a 128-bit tag. Wrapped layout:
 * 0x01 | iv (12) | ciphertext and tag (48).
 *
 * Why not C_WrapKey: the wrap mechanisms tokens offer for AES keys (AES key wrap, with or
 * without padding) take no additional data, so the id could not be bound without importing the
 * data key into the token as an object first; SoftHSM2 does not wrap with GCM at all.
 *
 * The token is opened on the first call (fingerprint() at start): library, token by label, a
 * read/write session, login, the key by label. One session serves every call, one call at a
 * time. A lost session fails the call with MasterKeyUnavailableError, and the next call opens
 * a new one and logs in again.
 */
export class Pkcs11MasterKeyProvider implements MasterKeyProvider {
  /** `pkcs11`. */
  readonly name = PKCS11_PROVIDER_NAME;
  private readonly pin: Buffer;
  private readonly userType: number;
  private readonly connectTimeoutMs: number;
  private readonly requestTimeoutMs: number;
  private readonly queue = new SerialQueue();
  private shared: SharedModule | undefined;
  private open: TokenSession | undefined;
  /** The token and key seen first: a later session must find the same ones. */
  private identity: { serial: string; fingerprint: string } | undefined;
  private holdsLogin: Pkcs11Handle | undefined;
  /** Set once the token refused the PIN: another try would bring the token closer to locking. */
  private pinRefusal: MasterKeyProviderError | undefined;
  private destroyed = false;

  /** Reads the PIN (copied; `pinFile` read now) and checks the options; opens nothing yet. */
  constructor(private readonly options: Pkcs11MasterKeyOptions) {
    for (const field of ['module', 'tokenLabel', 'keyLabel'] as const) {
      if (typeof options[field] !== 'string' || options[field].length === 0) {
        throw new KmsConfigurationError(`pkcs11MasterKey needs ${field}`);
      }
    }
    this.userType = options.userType ?? pkcs11.CKU_USER;
    this.connectTimeoutMs = positive(
      options.connectTimeoutMs,
      'connectTimeoutMs',
      DEFAULT_CONNECT_TIMEOUT_MS,
    );
    this.requestTimeoutMs = positive(
      options.requestTimeoutMs,
      'requestTimeoutMs',
      DEFAULT_REQUEST_TIMEOUT_MS,
    );
    this.pin = pinFromOptions(options);
  }

  /**
   * `pkcs11:<token serial>/<key label>[/<CKA_ID hex>]`. Opens the token on the first call and
   * checks the key; the keyring calls it once per start.
   */
  fingerprint(options?: MasterKeyCallOptions): Promise<string> {
    return this.call(async () => {
      this.session();
      return this.identity!.fingerprint;
    }, options);
  }

  /** Seals a 32-byte data key on the token, `keyId` authenticated with it. */
  wrapDataKey(dataKey: Buffer, keyId: string, options?: MasterKeyCallOptions): Promise<Buffer> {
    /* Precondition: a data key is 32 bytes */
    if (!Buffer.isBuffer(dataKey) || dataKey.length !== DATA_KEY_BYTES) {
      return Promise.reject(new MasterKeyProviderError(this.name, 'a data key must be 32 bytes'));
    }
    return this.call(async () => {
      const iv = randomBytes(IV_BYTES);
      const sealed = await this.seal(this.session(), iv, dataKey, bindingOf(keyId));
      return Buffer.concat([Buffer.of(WRAP_FORMAT), iv, sealed]);
    }, options);
  }

  /**
   * Opens a wrapped key on the token; DecryptionFailedError when it was altered, made for another
   * id or under another key.
   */
  unwrapDataKey(
    wrappedKey: Buffer,
    keyId: string,
    options?: MasterKeyCallOptions,
  ): Promise<Buffer> {
    /* Precondition: the layout this provider writes, before the token is asked anything */
    if (
      !Buffer.isBuffer(wrappedKey) ||
      wrappedKey.length !== WRAPPED_BYTES ||
      wrappedKey[0] !== WRAP_FORMAT
    ) {
      return Promise.reject(new DecryptionFailedError());
    }
    const iv = wrappedKey.subarray(1, 1 + IV_BYTES);
    const sealed = wrappedKey.subarray(1 + IV_BYTES);
    return this.call(
      async () => {
        const open = this.session();
        try {
          return await this.unseal(open, iv, sealed, bindingOf(keyId));
        } catch (error) {
          if (isNotAuthentic(error)) throw new DecryptionFailedError();
          // SoftHSM2 reports a tag mismatch as CKR_GENERAL_ERROR: if the token still decrypts
          // what it just encrypted, the wrapped key was at fault, not the token.
          if (isAmbiguousOnDecrypt(error) && (await this.selfCheckPasses(open))) {
            throw new DecryptionFailedError();
          }
          throw error;
        }
      },
      options,
      (dataKey) => dataKey.fill(0),
    );
  }

  /** Logs out (when no other provider of the process needs the token), closes, finalises when last. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await this.queue.after(() => {
      const shared = this.shared;
      if (this.holdsLogin) shared?.releaseLogin(this.open?.session, this.holdsLogin);
      this.closeSession();
      this.shared = undefined;
      shared?.release();
    });
    this.pin.fill(0);
  }

  /** Runs `work` on the session in turn, mapping what fails to the keyring's three errors. */
  private call<T>(
    work: () => Promise<T>,
    options: MasterKeyCallOptions | undefined,
    discard?: (value: T) => void,
  ): Promise<T> {
    return this.queue.run(
      async () => {
        try {
          return await work();
        } catch (error) {
          if (error instanceof DecryptionFailedError) throw error;
          if (isPinRefusal(error))
            this.pinRefusal = providerFailure(error, 'C_Login') as MasterKeyProviderError;
          if (isNotInitialized(error)) this.shared?.lostInitialization();
          // Whatever went wrong, the next call starts from a new session (and login).
          this.closeSession();
          throw this.pinRefusal ?? providerFailure(error, callOf(error));
        }
      },
      {
        signal: options?.signal,
        timeoutMs: this.requestTimeoutMs,
        gaveUp: (why) => new MasterKeyUnavailableError(this.name, why),
        discard,
      },
    );
  }

  /** The open session, opening the token first when there is none. */
  private session(): TokenSession {
    if (this.destroyed) throw new MasterKeyProviderError(this.name, 'the provider was destroyed');
    if (this.pinRefusal) throw this.pinRefusal;
    if (this.open) return this.open;
    this.shared ??= SharedModule.acquire(this.options.module);
    this.shared.initialize();
    const open = openTokenSession(this.shared, {
      tokenLabel: this.options.tokenLabel,
      keyLabel: this.options.keyLabel,
      userType: this.userType,
      pin: this.pin,
      deadline: Date.now() + this.connectTimeoutMs,
      expected: this.identity,
    });
    this.identity ??= { serial: open.serial, fingerprint: open.fingerprint };
    if (!this.holdsLogin) {
      this.shared.holdLogin(open.slot);
      this.holdsLogin = open.slot;
    }
    this.open = open;
    return open;
  }

  private closeSession(): void {
    const open = this.open;
    this.open = undefined;
    if (!open) return;
    try {
      this.shared?.library.C_CloseSession(open.session);
    } catch {
      // Closed under us already (the failure that brought us here, most likely).
    }
  }

  private async seal(open: TokenSession, iv: Buffer, plain: Buffer, aad: Buffer): Promise<Buffer> {
    const library = this.shared!.library;
    library.C_EncryptInit(open.session, gcm(iv, aad), open.key);
    const sealed = await library.C_EncryptAsync(
      open.session,
      plain,
      Buffer.alloc(plain.length + TAG_BYTES),
    );
    if (sealed.length !== plain.length + TAG_BYTES) {
      throw new MasterKeyProviderError(
        this.name,
        `C_Encrypt returned ${sealed.length} bytes, not ${plain.length + TAG_BYTES}`,
      );
    }
    return Buffer.from(sealed);
  }

  private async unseal(
    open: TokenSession,
    iv: Buffer,
    sealed: Buffer,
    aad: Buffer,
  ): Promise<Buffer> {
    const library = this.shared!.library;
    const output = Buffer.alloc(sealed.length);
    try {
      library.C_DecryptInit(open.session, gcm(iv, aad), open.key);
      const plain = await library.C_DecryptAsync(open.session, sealed, output);
      if (plain.length !== sealed.length - TAG_BYTES) throw new DecryptionFailedError();
      return Buffer.from(plain);
    } finally {
      output.fill(0);
    }
  }

  /** Seals and unseals a throwaway key on the token: true when the token works. */
  private async selfCheckPasses(open: TokenSession): Promise<boolean> {
    const probe = randomBytes(DATA_KEY_BYTES);
    const iv = randomBytes(IV_BYTES);
    let back: Buffer | undefined;
    try {
      back = await this.unseal(
        open,
        iv,
        await this.seal(open, iv, probe, SELF_CHECK_BINDING),
        SELF_CHECK_BINDING,
      );
      return back.equals(probe);
    } catch {
      return false;
    } finally {
      probe.fill(0);
      back?.fill(0);
    }
  }
}

/** The PKCS#11 function that failed, as pkcs11js records it. */
function callOf(error: unknown): string {
  const method = (error as { method?: unknown } | null)?.method;
  return typeof method === 'string' && method.length > 0 ? method : 'a PKCS#11 call';
}

function positive(value: number | undefined, field: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0) {
    throw new KmsConfigurationError(`${field} must be a positive whole number of milliseconds`);
  }
  return value;
}
