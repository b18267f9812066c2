var __decorate =
  (this && this.__decorate) ||
  function (decorators, target, key, desc) {
    var c = arguments.length,
      r =
        c < 3
          ? target
          : desc === null
            ? (desc = Object.getOwnPropertyDescriptor(target, key))
            : desc,
      d;
    if (typeof Reflect === 'object' && typeof Reflect.decorate === 'function')
      r = Reflect.decorate(decorators, target, key, desc);
    else
      for (var i = decorators.length - 1; i >= 0; i--)
        if ((d = decorators[i]))
          r = (c < 3 ? d(r) : c > 3 ? d(target, key, r) : d(target, key)) || r;
    return (c > 3 && r && Object.defineProperty(target, key, r), r);
  };
var __metadata =
  (this && this.__metadata) ||
  function (k, v) {
    if (typeof Reflect === 'object' && typeof Reflect.metadata === 'function')
      return Reflect.metadata(k, v);
  };
var __param =
  (this && this.__param) ||
  function (paramIndex, decorator) {
    return function (target, key) {
      decorator(target, key, paramIndex);
    };
  };
var KmsService_1;
import { Inject, Injectable, Logger } from '@nestjs/common';
import { aadEquals, encodeAad } from './envelope/aad.js';
import { openEnvelope, sealEnvelope } from './envelope/envelope-cipher.js';
import { formatCompactEnvelope, formatEnvelope, parseEnvelope } from './envelope/envelope-codec.js';
import { MAX_PLAINTEXT_BYTES } from './envelope/envelope.constants.js';
import { AadMismatchError } from './errors/aad-mismatch.error.js';
import { InvalidInputError } from './errors/invalid-input.error.js';
import { KmsNotInitializedError } from './errors/kms-not-initialized.error.js';
import { KmsError } from './errors/kms.error.js';
import { Keyring } from './keyring/keyring.js';
import { KMS_RESOLVED_OPTIONS } from './kms.constants.js';
import { KMS_EVENTS } from './kms.messages.js';
import { resolveMasterKeyProvider } from './master-key/master-key.resolver.js';
import { KmsStorage } from './storage/kms-storage.js';
import { TypeOrmKeyringStore } from './storage/typeorm-keyring.store.js';
let KmsService = (KmsService_1 = class KmsService {
  options;
  storage;
  logger = new Logger(KmsService_1.name);
  keyring;
  provider;
  starting;
  decryptionFailures = 0;
  constructor(options, storage) {
    this.options = options;
    this.storage = storage;
  }
  async onModuleInit() {
    if (this.options.initializeOnStart) await this.initialize();
  }
  onApplicationShutdown() {
    this.keyring?.destroy();
    this.provider?.destroy?.();
    this.keyring = undefined;
    this.provider = undefined;
    this.starting = undefined;
  }
  initialize() {
    this.starting ??= this.start().catch((error) => {
      this.starting = undefined;
      throw error;
    });
    return this.starting;
  }
  async encryptData(plaintext, options = {}) {
    return formatEnvelope(this.seal(plaintext, options));
  }
  async encryptToString(plaintext, options = {}) {
    return formatCompactEnvelope(this.seal(plaintext, options));
  }
  async decryptData(envelope, options = {}) {
    const keyring = this.ready();
    let keyId;
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
  async rotateDataKey(reason = 'manual') {
    const { keyId, previousKeyId } = await this.ready().rotate();
    this.logger.log({ event: KMS_EVENTS.dataKeyRotated, keyId, previousKeyId, reason });
    return keyId;
  }
  getStatus() {
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
  async start() {
    const began = performance.now();
    const provider = await resolveMasterKeyProvider({
      masterKey: this.options.masterKey,
      environmentKey: this.options.environmentKey,
      developmentMasterKeyFile: this.options.developmentMasterKeyFile,
      production: this.options.production,
    });
    try {
      const store = new TypeOrmKeyringStore(await this.storage.dataSource());
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
  ready() {
    if (this.keyring === undefined) throw new KmsNotInitializedError();
    return this.keyring;
  }
  seal(plaintext, options) {
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
});
KmsService = KmsService_1 = __decorate(
  [
    Injectable(),
    __param(0, Inject(KMS_RESOLVED_OPTIONS)),
    __metadata('design:paramtypes', [Object, KmsStorage]),
  ],
  KmsService,
);
export { KmsService };
function plaintextBytes(plaintext) {
  let bytes;
  if (typeof plaintext === 'string') {
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
//# sourceMappingURL=kms.service.js.map
