import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { aadEquals, encodeAad } from './envelope/aad.js';
import { openEnvelope, sealEnvelope } from './envelope/envelope-cipher.js';
import { formatCompactEnvelope, formatEnvelope, parseEnvelope } from './envelope/envelope-codec.js';
import { MAX_PLAINTEXT_BYTES } from './envelope/envelope.constants.js';
import type { EnvelopeV1, ParsedEnvelope } from './envelope/envelope.interface.js';
import { AadMismatchError } from './errors/aad-mismatch.error.js';
import { InvalidInputError } from './errors/invalid-input.error.js';
import { KmsNotInitializedError } from './errors/kms-not-initialized.error.js';
import { KmsError } from './errors/kms.error.js';
import type {
  DecryptOptions,
  EncryptOptions,
} from './interfaces/kms-operation-options.interface.js';
import type { KmsStatus } from './interfaces/kms-status.interface.js';
import {
  fromExportedKey,
  toExportedKey,
  type ExportedKeyring,
} from './keyring/exported-keyring.js';
import { Keyring } from './keyring/keyring.js';
import { openExport, sealExport, type SealedExport } from './keyring/sealed-export.js';
import { MasterKeyMismatchError } from './errors/master-key-mismatch.error.js';
import { KMS_RESOLVED_OPTIONS } from './kms.constants.js';
import { KMS_EVENTS } from './kms.messages.js';
import type { ResolvedKmsOptions } from './kms.options.js';
import type { MasterKeyProvider } from './master-key/master-key-provider.interface.js';
import { resolveMasterKeyProvider } from './master-key/master-key.resolver.js';
import { KmsStorage } from './storage/kms-storage.js';
import { TypeOrmKeyringStore } from './storage/typeorm-keyring.store.js';

/**
 * Envelope encryption with rotating data keys. Encrypt and decrypt use keys already in
 * memory; only rotation and the first sight of another replica's key reach the database.
 */
@Injectable()
export class KmsService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(KmsService.name);
  private keyring: Keyring | undefined;
  private provider: MasterKeyProvider | undefined;
  private starting: Promise<void> | undefined;
  private decryptionFailures = 0;

  constructor(
    @Inject(KMS_RESOLVED_OPTIONS) private readonly options: ResolvedKmsOptions,
    private readonly storage: KmsStorage,
  ) {}

  async onModuleInit(): Promise<void> {
    if (this.options.initializeOnStart) await this.initialize();
  }

  onApplicationShutdown(): void {
    this.keyring?.destroy();
    this.provider?.destroy?.();
    this.keyring = undefined;
    this.provider = undefined;
    this.starting = undefined;
  }

  /**
   * Resolves the master key, opens the keyring (creating it on the first start) and loads every
   * data key. Idempotent; concurrent calls share one start.
   */
  initialize(): Promise<void> {
    this.starting ??= this.start().catch((error: unknown) => {
      this.starting = undefined;
      throw error;
    });
    return this.starting;
  }

  /** Encrypts under the active data key; returns the design document's envelope object. */
  async encryptData(plaintext: string | Buffer, options: EncryptOptions = {}): Promise<EnvelopeV1> {
    return formatEnvelope(this.seal(plaintext, options));
  }

  /** As encryptData, as the compact single string (`kms1.…`) for one text column. */
  async encryptToString(plaintext: string | Buffer, options: EncryptOptions = {}): Promise<string> {
    return formatCompactEnvelope(this.seal(plaintext, options));
  }

  /** Validates and decrypts an envelope (object or compact string). */
  decryptData(
    envelope: EnvelopeV1 | string,
    options?: DecryptOptions & { as?: 'string' },
  ): Promise<string>;
  decryptData(
    envelope: EnvelopeV1 | string,
    options: DecryptOptions & { as: 'buffer' },
  ): Promise<Buffer>;
  async decryptData(
    envelope: EnvelopeV1 | string,
    options: DecryptOptions = {},
  ): Promise<string | Buffer> {
    const keyring = this.ready();
    let keyId: string | undefined;
    try {
      const expectedAad = options.aad === undefined ? undefined : encodeAad(options.aad);
      const parsed = parseEnvelope(envelope);
      keyId = parsed.keyId;
      const key = keyring.get(keyId) ?? (await keyring.fetch(keyId));
      const plaintext = openEnvelope(key.material, parsed);
      if (expectedAad !== undefined && !aadEquals(parsed.aad, expectedAad)) {
        plaintext.fill(0);
        throw new AadMismatchError();
      }
      if (options.as === 'buffer') return plaintext;
      const text = plaintext.toString('utf8');
      plaintext.fill(0);
      return text;
    } catch (error) {
      if (error instanceof KmsError && !(error instanceof InvalidInputError)) {
        this.decryptionFailures++;
        this.logger.warn({ event: KMS_EVENTS.decryptionFailed, code: error.code, keyId });
      }
      throw error;
    }
  }

  /** Creates a new active data key; older keys keep decrypting. Returns the new key id. */
  async rotateDataKey(reason = 'manual'): Promise<string> {
    const { keyId, previousKeyId } = await this.ready().rotate();
    this.logger.log({ event: KMS_EVENTS.dataKeyRotated, keyId, previousKeyId, reason });
    return keyId;
  }

  /** Every data key in its stored, wrapped form (never plain), for a backup. */
  async exportKeyring(): Promise<ExportedKeyring> {
    const keyring = this.ready();
    const keys = await keyring.exportKeys();
    return { masterKeyFingerprint: keyring.fingerprint, dataKeys: keys.map(toExportedKey) };
  }

  /**
   * Adds the data keys of an export made under this master key, as retired keys (they decrypt,
   * never encrypt). Refused whole, before any write, when a key does not unwrap here or an id
   * already held carries another key. Returns the ids added.
   */
  async importKeyring(exported: ExportedKeyring): Promise<string[]> {
    const keyring = this.ready();
    if (exported.masterKeyFingerprint !== keyring.fingerprint) {
      throw new MasterKeyMismatchError(exported.masterKeyFingerprint, keyring.fingerprint);
    }
    return keyring.importKeys(exported.dataKeys.map(fromExportedKey));
  }

  /** Seals a payload (a backup) under a one-off key wrapped by the master key. */
  sealExport(payload: Buffer, purpose: string): Promise<SealedExport> {
    const keyring = this.ready();
    return sealExport(this.provider!, keyring.fingerprint, payload, purpose);
  }

  /** Opens what sealExport made; anything altered or foreign is an InvalidExportError. */
  openExport(sealed: unknown, purpose: string): Promise<Buffer> {
    const keyring = this.ready();
    return openExport(this.provider!, keyring.fingerprint, sealed, purpose);
  }

  getStatus(): KmsStatus {
    const keyring = this.keyring;
    const active = keyring?.active;
    return {
      initialized: keyring !== undefined,
      masterKeyPresent: this.provider !== undefined,
      masterKeyFingerprint: keyring?.fingerprint ?? null,
      dataKeysCount: keyring?.size ?? 0,
      activeKeyId: active?.id ?? null,
      activeKeyCreatedAt: active ? new Date(active.createdAt).toISOString() : null,
      activeKeyAgeMs: active ? Date.now() - active.createdAt : null,
      decryptionFailures: this.decryptionFailures,
    };
  }

  private async start(): Promise<void> {
    const began = performance.now();
    const provider = await resolveMasterKeyProvider({
      masterKey: this.options.masterKey,
      environmentKey: this.options.environmentKey,
      developmentMasterKeyFile: this.options.developmentMasterKeyFile,
      production: this.options.production,
    });
    try {
      const store = new TypeOrmKeyringStore(this.storage);
      const { keyring, created } = await Keyring.open(provider, store);
      this.provider = provider;
      this.keyring = keyring;
      this.logger.log({
        event: KMS_EVENTS.initialized,
        durationMs: Math.round((performance.now() - began) * 100) / 100,
        keyringCreated: created,
        dataKeysCount: keyring.size,
        activeKeyId: keyring.active.id,
        masterKeyFingerprint: keyring.fingerprint,
      });
    } catch (error) {
      provider.destroy?.();
      throw error;
    }
  }

  private ready(): Keyring {
    if (this.keyring === undefined) throw new KmsNotInitializedError();
    return this.keyring;
  }

  private seal(plaintext: string | Buffer, options: EncryptOptions): ParsedEnvelope {
    const keyring = this.ready();
    const aad = options.aad === undefined ? undefined : encodeAad(options.aad);
    const owned = typeof plaintext === 'string';
    const bytes = plaintextBytes(plaintext);
    try {
      const key = keyring.active;
      return sealEnvelope(key.material, key.id, bytes, aad, Date.now());
    } finally {
      if (owned) bytes.fill(0);
    }
  }
}

function plaintextBytes(plaintext: string | Buffer): Buffer {
  let bytes: Buffer;
  if (typeof plaintext === 'string') {
    // A lone surrogate would come back as U+FFFD: refuse rather than change the value.
    if (!plaintext.isWellFormed())
      throw new InvalidInputError('plaintext', 'contains a lone UTF-16 surrogate');
    bytes = Buffer.from(plaintext, 'utf8');
  } else if (Buffer.isBuffer(plaintext)) {
    bytes = plaintext;
  } else {
    throw new InvalidInputError('plaintext', 'must be a string or a Buffer');
  }
  if (bytes.length > MAX_PLAINTEXT_BYTES) {
    throw new InvalidInputError('plaintext', `is larger than ${MAX_PLAINTEXT_BYTES} bytes`);
  }
  return bytes;
}
