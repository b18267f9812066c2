import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import type { SchedulerRegistry } from '@nestjs/schedule';
import { encodeAad } from './envelope/aad.js';
import { formatCompactEnvelope, formatEnvelope } from './envelope/envelope-codec.js';
import { checkDecryptOptions, checkEncryptOptions } from './envelope/operation-options.js';
import type { EnvelopePurpose, EnvelopeV1 } from './envelope/envelope.interface.js';
import { KmsNotInitializedError } from './errors/kms-not-initialized.error.js';
import { DataKeyInUseError } from './errors/data-key-in-use.error.js';
import { DataKeyNotFoundError } from './errors/data-key-not-found.error.js';
import type {
  DecryptOptions,
  EncryptOptions,
} from './interfaces/kms-operation-options.interface.js';
import type { KmsStatus } from './interfaces/kms-status.interface.js';
import type { ReencryptOptions } from './interfaces/reencrypt-options.interface.js';
import type { DataKeyInfo } from './interfaces/data-key-info.interface.js';
import type { DataKeyRotation } from './interfaces/data-key-rotation.interface.js';
import {
  fromExportedKey,
  toExportedKey,
  type ExportedKeyring,
} from './keyring/exported-keyring.js';
import { isDataKeyId, type DataKey } from './keyring/data-key.js';
import { Keyring, type MasterKey, type MasterKeyRotation } from './keyring/keyring.js';
import { KeyringEnvelopes } from './keyring/keyring-envelopes.js';
import {
  PURPOSE_ENVELOPES,
  storeEnvelopeKeyId,
  type PurposeEnvelopes,
  type PurposeEnvelopesSource,
} from './keyring/purpose-envelopes.js';
import { EXPORT_MASTER_KEY } from './keyring/sealed-export.js';
import { MasterKeyMismatchError } from './errors/master-key-mismatch.error.js';
import { KMS_RESOLVED_OPTIONS, KMS_SCHEDULER_REGISTRY } from './kms.constants.js';
import { KMS_EVENTS } from './kms.messages.js';
import type { ResolvedKmsOptions } from './kms.options.js';
import type { MasterKeyProvider } from './master-key/master-key-provider.interface.js';
import {
  resolveMasterKeyProvider,
  resolvePreviousMasterKeyProvider,
} from './master-key/master-key.resolver.js';
import { KeyringReplicaSync } from './notifications/keyring-replica-sync.js';
import { KmsNotifications } from './notifications/kms-notifications.js';
import { type ReencryptionResult } from './reencryption/reencryption.job.js';
import { KmsMetrics } from './metrics/kms-metrics.js';
import { LegacyEnvelopes } from './reencryption/legacy-envelopes.js';
import { KeyLifecycle } from './rotation/key-lifecycle.js';
import { KmsStorage } from './storage/kms-storage.js';
import { EncryptedColumns } from './columns/encrypted-columns.js';
import { TypeOrmKeyringStore } from './storage/typeorm-keyring.store.js';

const DAY_MS = 86_400_000;

/**
 * Envelope encryption with rotating data keys. Encrypt and decrypt use keys already in
 * memory; only rotation and the first sight of another replica's key reach the database.
 */
@Injectable()
export class KmsService
  implements OnModuleInit, BeforeApplicationShutdown, OnApplicationShutdown, PurposeEnvelopesSource
{
  private readonly logger = new Logger(KmsService.name);
  private keyring: Keyring | undefined;
  private previousProvider: MasterKeyProvider | undefined;
  private starting: Promise<void> | undefined;
  private decryptionFailures = 0;
  private readonly lifecycle: KeyLifecycle;
  private readonly replicas: KeyringReplicaSync;
  private readonly envelopes: KeyringEnvelopes;
  private readonly legacy: LegacyEnvelopes;
  private encryptedColumns: EncryptedColumns | undefined;

  constructor(
    @Inject(KMS_RESOLVED_OPTIONS) private readonly options: ResolvedKmsOptions,
    private readonly storage: KmsStorage,
    private readonly notifications: KmsNotifications,
    @Inject(KMS_SCHEDULER_REGISTRY) scheduler: SchedulerRegistry,
    private readonly metrics: KmsMetrics,
  ) {
    metrics.observeKeyring(() => this.getStatus());
    this.legacy = new LegacyEnvelopes(storage, notifications, options.legacyEnvelopes, {
      active: () => this.ready().active,
      rotate: () => this.rotateDataKey('legacy_envelopes_refused'),
    });
    this.lifecycle = new KeyLifecycle(
      scheduler,
      storage,
      metrics,
      options,
      () => this.ready(),
      {
        activeKeyId: () => this.ready().active.id,
        rewrap: (compact, purpose) => this.rewrap(compact, purpose),
      },
      this.legacy,
    );
    this.replicas = new KeyringReplicaSync(notifications, () => this.keyring, this.legacy);
    this.envelopes = new KeyringEnvelopes(
      () => this.ready(),
      {
        sealed: (key) => this.countEncryption(key),
        openFailed: (code, keyId) => {
          this.decryptionFailures++;
          this.metrics.decryptionErrors.inc({ code });
          this.logger.warn({ event: KMS_EVENTS.decryptionFailed, code, keyId });
        },
      },
      (purpose, keyId) => this.legacy.accepts(purpose, keyId),
    );
  }

  async onModuleInit(): Promise<void> {
    if (this.options.initializeOnStart) await this.initialize();
  }

  /** Stops the jobs and writes the usage counts while the database is still open. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.lifecycle.stop(this.keyring);
  }

  onApplicationShutdown(): void {
    this.replicas.stop();
    this.encryptedColumns?.detach();
    this.encryptedColumns = undefined;
    const provider = this.keyring?.masterKey.provider;
    this.keyring?.destroy();
    provider?.destroy?.();
    this.previousProvider?.destroy?.();
    this.keyring = undefined;
    this.previousProvider = undefined;
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
    this.ready();
    return formatEnvelope(this.envelopes.seal(plaintext, checkEncryptOptions(options)));
  }

  /** As encryptData, as the compact single string (`kms1.…`) for one text column. */
  async encryptToString(plaintext: string | Buffer, options: EncryptOptions = {}): Promise<string> {
    this.ready();
    return formatCompactEnvelope(this.envelopes.seal(plaintext, checkEncryptOptions(options)));
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
    this.ready();
    checkDecryptOptions(options);
    const expectedAad = options.aad === undefined ? undefined : encodeAad(options.aad);
    const plaintext = await this.envelopes.open(envelope, expectedAad);
    if (options.as === 'buffer') return plaintext;
    const text = plaintext.toString('utf8');
    plaintext.fill(0);
    return text;
  }

  /**
   * Creates a new active data key; older keys keep decrypting. Returns the new key's id and the
   * id of the key this rotation retired (under concurrent rotations, each its own).
   */
  async rotateDataKey(reason = 'manual'): Promise<DataKeyRotation> {
    const rotation = (await this.ready().rotate())!;
    this.lifecycle.rotated(rotation.keyId, rotation.previousKeyId, reason);
    return rotation;
  }

  /**
   * Vault's rewrap: the same plaintext and AAD sealed under the active data key, in the same
   * form (object or compact string). The plaintext never leaves this call.
   */
  async rewrapEnvelope(envelope: EnvelopeV1): Promise<EnvelopeV1>;
  async rewrapEnvelope(envelope: string): Promise<string>;
  async rewrapEnvelope(envelope: EnvelopeV1 | string): Promise<EnvelopeV1 | string> {
    this.ready();
    const parsed = await this.envelopes.reseal(envelope);
    return typeof envelope === 'string' ? formatCompactEnvelope(parsed) : formatEnvelope(parsed);
  }

  /**
   * Moves every registered column's envelopes under retired data keys to the active key, in
   * batches (one replica at a time on Postgres; `ran: false` when another holds the job).
   * `reencrypt(UserProfile)` or `{ entities }` limits it to those entities' columns.
   * Safe to interrupt: the next run continues where this one stopped.
   */
  async reencrypt(options: Function | ReencryptOptions = {}): Promise<ReencryptionResult> {
    this.ready();
    return this.lifecycle.reencrypt(
      typeof options === 'function' ? { entities: [options] } : options,
    );
  }

  /** Envelopes in registered columns that use data key `keyId`. */
  async countEnvelopesUsing(keyId: string): Promise<number> {
    this.ready();
    if (!isDataKeyId(keyId)) return 0;
    return this.lifecycle.countUsing(keyId);
  }

  /**
   * Deletes a retired data key for good. Refused (DataKeyInUseError, nothing deleted) for the
   * active key or while envelopes in registered columns still use it; only registered columns
   * are counted, so envelopes the application keeps elsewhere must be rewrapped first.
   */
  async destroyDataKey(keyId: string): Promise<void> {
    const keyring = this.ready();
    if (!isDataKeyId(keyId)) throw new DataKeyNotFoundError(keyId);
    if (keyring.active.id === keyId) throw new DataKeyInUseError(keyId, 0, true);
    const envelopes = await this.lifecycle.countUsing(keyId);
    if (envelopes > 0) throw new DataKeyInUseError(keyId, envelopes, false);
    if (!(await keyring.destroyKey(keyId))) {
      const stored = await keyring.fetch(keyId).catch(() => undefined);
      if (stored?.status === 'active') throw new DataKeyInUseError(keyId, 0, true);
      throw new DataKeyNotFoundError(keyId);
    }
    this.logger.log({ event: KMS_EVENTS.dataKeyDestroyed, keyId });
  }

  /**
   * Master-key rotation while running: re-wraps every data key under `masterKey` (base64, a
   * 32-byte Buffer or a provider) in one transaction and uses it from now on. Restart every
   * replica with the new key as KMS_MASTER_KEY (and the old one as KMS_MASTER_KEY_PREVIOUS
   * until all have restarted).
   */
  async rotateMasterKey(
    masterKey: string | Buffer | MasterKeyProvider,
  ): Promise<MasterKeyRotation> {
    const keyring = this.ready();
    const next = await resolveMasterKeyProvider({ masterKey, production: this.options.production });
    const old = keyring.masterKey.provider;
    let rotation: MasterKeyRotation;
    try {
      rotation = await keyring.rotateMasterKey(next);
    } catch (error) {
      if (next !== masterKey) next.destroy?.();
      throw error;
    }
    await this.encryptedColumns?.masterKeyRotated();
    if (old !== this.options.masterKey) old.destroy?.();
    this.logger.log({ event: KMS_EVENTS.masterKeyRotated, ...rotation });
    return rotation;
  }

  /**
   * Runs the scheduled work now: flushes usage counts, rotates the active data key if it is due
   * (age or usage), then re-encrypts if anything is under a retired key and auto is on.
   */
  async runLifecycle(): Promise<void> {
    this.ready();
    await this.lifecycle.run();
  }

  /** Every data key's metadata, newest first (no key material, wrapped or not). */
  async listDataKeys(): Promise<DataKeyInfo[]> {
    const keys = await this.ready().exportKeys();
    return keys
      .toSorted((a, b) => b.createdAt - a.createdAt)
      .map((key) => ({
        id: key.id,
        status: key.status,
        createdAt: new Date(key.createdAt).toISOString(),
        retiredAt: key.retiredAt === null ? null : new Date(key.retiredAt).toISOString(),
        masterKeyFingerprint: key.masterKeyFingerprint,
      }));
  }

  /** Every data key in its stored, wrapped form (never plain), for a backup. */
  async exportKeyring(): Promise<ExportedKeyring> {
    const keyring = this.ready();
    const keys = await keyring.exportKeys();
    return { masterKeyFingerprint: keyring.fingerprint, dataKeys: keys.map(toExportedKey) };
  }

  /**
   * Adds the data keys of an export made under this master key (or the previous one, while it
   * is configured: they are re-wrapped under the current one), as retired keys (they decrypt,
   * never encrypt). Refused whole, before any write, when a key does not unwrap here or an id
   * already held carries another key. Returns the ids added.
   */
  async importKeyring(exported: ExportedKeyring): Promise<string[]> {
    const keyring = this.ready();
    if (!keyring.heldMasterKey(exported.masterKeyFingerprint)) {
      throw new MasterKeyMismatchError(exported.masterKeyFingerprint, keyring.fingerprint);
    }
    const added = await keyring.importKeys(exported.dataKeys.map(fromExportedKey));
    if (added.length > 0) this.lifecycle.keysImported();
    return added;
  }

  /** The master key exports are sealed under, or the held one `fingerprint` names (SealedExports). */
  [EXPORT_MASTER_KEY](fingerprint?: unknown): MasterKey {
    const keyring = this.ready();
    return keyring.heldMasterKey(fingerprint) ?? keyring.masterKey;
  }

  getStatus(): KmsStatus {
    const keyring = this.keyring;
    const active = keyring?.active;
    const now = this.options.clock();
    return {
      initialized: keyring !== undefined,
      masterKeyPresent: keyring !== undefined,
      masterKeyFingerprint: keyring?.fingerprint ?? null,
      dataKeysCount: keyring?.size ?? 0,
      activeKeyId: active?.id ?? null,
      activeKeyCreatedAt: active ? new Date(active.createdAt).toISOString() : null,
      activeKeyAgeMs: active ? now - active.createdAt : null,
      activeKeyEncryptions: active ? active.encryptions + active.pendingEncryptions : null,
      nextRotationDueAt:
        active && this.options.rotationDays > 0
          ? new Date(active.createdAt + this.options.rotationDays * DAY_MS).toISOString()
          : null,
      dataKeyRotations: this.lifecycle.rotations,
      decryptionFailures: this.decryptionFailures,
      replicaNotifications: this.notifications.listening,
      lastReencryption: this.lifecycle.lastReencryption,
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
    let previous: MasterKeyProvider | undefined;
    try {
      previous = await resolvePreviousMasterKeyProvider(this.options.previousMasterKey);
      const store = new TypeOrmKeyringStore(this.storage, this.notifications);
      const { keyring, created, masterKeyRotation } = await Keyring.open(provider, store, {
        previous,
        now: this.options.clock,
        newKeyId: (creating) => this.legacy.newKeyId(creating),
      });
      this.keyring = keyring;
      this.previousProvider = previous;
      await this.legacy.load(created);
      if (masterKeyRotation) {
        this.logger.log({ event: KMS_EVENTS.masterKeyRotated, ...masterKeyRotation });
      }
      await this.attachEncryptedColumns();
      await this.replicas.start();
      const durationMs = performance.now() - began;
      this.metrics.initTime.set(durationMs / 1000);
      this.logger.log({
        event: KMS_EVENTS.initialized,
        durationMs: Math.round(durationMs * 100) / 100,
        keyringCreated: created,
        dataKeysCount: keyring.size,
        activeKeyId: keyring.active.id,
        masterKeyFingerprint: keyring.fingerprint,
      });
    } catch (error) {
      this.keyring?.destroy();
      this.keyring = undefined;
      this.previousProvider = undefined;
      provider.destroy?.();
      previous?.destroy?.();
      throw error;
    }
    this.lifecycle.start();
  }

  private async rewrap(
    compact: string,
    purpose: EnvelopePurpose | undefined,
  ): Promise<{ envelope: string; keyId: string }> {
    const parsed = await this.envelopes.reseal(compact, purpose);
    return { envelope: formatCompactEnvelope(parsed), keyId: parsed.keyId };
  }

  /** A store's envelopes, for nest-kms's own libraries (reached through purposeEnvelopes()). */
  [PURPOSE_ENVELOPES](purpose: EnvelopePurpose): PurposeEnvelopes {
    const sealed = (parsed: { keyId: string } & Parameters<typeof formatCompactEnvelope>[0]) => ({
      envelope: formatCompactEnvelope(parsed),
      keyId: parsed.keyId,
    });
    return {
      seal: (plaintext, aad) => sealed(this.envelopes.seal(plaintext, { aad }, purpose)),
      open: async (envelope, aad) => {
        const plaintext = await this.envelopes.open(envelope, encodeAad(aad), purpose);
        const text = plaintext.toString('utf8');
        plaintext.fill(0);
        return text;
      },
      adopt: async (envelope, aad) =>
        sealed(await this.envelopes.adopt(envelope, encodeAad(aad), purpose)),
      keyIdOf: (envelope) => storeEnvelopeKeyId(envelope, purpose),
    };
  }

  /** One more envelope under `key`; past a batch, the scheduled check runs early. */
  private countEncryption(key: DataKey): void {
    if (++key.pendingEncryptions % this.options.usageFlushEvery === 0) {
      this.lifecycle.usageBatchReached();
    }
  }

  private ready(): Keyring {
    if (this.keyring === undefined) throw new KmsNotInitializedError();
    return this.keyring;
  }

  /** What @EncryptedColumn entities of the KMS DataSource are sealed and opened with. */
  private async attachEncryptedColumns(): Promise<void> {
    const dataSource = await this.storage.dataSource();
    this.encryptedColumns = await EncryptedColumns.attach(
      dataSource,
      {
        seal: (bytes, aad) => formatCompactEnvelope(this.envelopes.sealBytes(bytes, aad, 'column')),
        open: (envelope, aad) => this.envelopes.open(envelope, aad, 'column'),
        masterKeys: () => {
          const keyring = this.ready();
          return [
            keyring.masterKey.provider,
            ...(this.previousProvider ? [this.previousProvider] : []),
          ];
        },
      },
      (column) => this.storage.registerEnvelopeColumn(column),
    );
  }
}
