import { setTimeout as sleep } from 'node:timers/promises';
import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { EncryptedColumnsAttachment } from '../columns/encrypted-columns-attachment.js';
import type { KeyringStore } from '../keyring/keyring-store.interface.js';
import { Keyring } from '../keyring/keyring.js';
import { TenantMasterKeys } from '../keyring/tenant-master-keys.js';
import { KMS_KEYRING_STORE, KMS_RESOLVED_OPTIONS } from '../kms.constants.js';
import { MasterKeyMismatchError } from '../errors/master-key-mismatch.error.js';
import { MasterKeyUnavailableError } from '../errors/master-key-unavailable.error.js';
import { KMS_EVENTS } from '../kms.messages.js';
import type { ResolvedKmsOptions } from '../kms.options.js';
import type { MasterKeyProvider } from '../master-key/master-key-provider.interface.js';
import {
  additionalMasterKeyProviders,
  previousMasterKeyProvider,
} from '../master-key/master-key.resolver.js';
import { KmsMetrics } from '../metrics/kms-metrics.js';
import { KeyringReplicaSync } from '../notifications/keyring-replica-sync.js';
import { LegacyEnvelopes } from '../reencryption/legacy-envelopes.js';
import { KeyLifecycle } from '../rotation/key-lifecycle.js';
import { KmsKeyring } from './kms-keyring.js';
import { KmsRegion } from './kms-region.js';
import { KmsSecurityEvents } from './kms-security-events.js';
import { MasterKeyGuard } from './master-key-guard.js';
import { releaseProvider, resolveMasterKeyProvider } from './master-key-sources.js';

/**
 * Start-up and shutdown of the keyring: resolves the master key, opens the keyring (creating
 * it on the first start), then attaches encrypted columns, follows the other replicas and
 * starts the scheduled jobs; at shutdown stops the jobs while the database is still open, then
 * zeroes the keys. The module that opens the keyring releases it, as TypeOrmCoreModule does.
 */
@Injectable()
export class KmsBootstrap
  implements OnModuleInit, BeforeApplicationShutdown, OnApplicationShutdown
{
  private readonly logger = new Logger('KmsService');
  private starting: Promise<void> | undefined;

  constructor(
    @Inject(KMS_RESOLVED_OPTIONS) private readonly options: ResolvedKmsOptions,
    @Inject(KMS_KEYRING_STORE) private readonly store: KeyringStore,
    private readonly keyring: KmsKeyring,
    private readonly legacy: LegacyEnvelopes,
    private readonly columns: EncryptedColumnsAttachment,
    private readonly replicas: KeyringReplicaSync,
    private readonly lifecycle: KeyLifecycle,
    private readonly metrics: KmsMetrics,
    private readonly guard: MasterKeyGuard,
    private readonly region: KmsRegion,
    private readonly security: KmsSecurityEvents,
  ) {}

  async onModuleInit(): Promise<void> {
    if (this.options.initializeOnStart) await this.initialize();
  }

  /** Stops the jobs and writes the usage counts while the database is still open. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.guard.stopProbing();
    await this.lifecycle.stop();
  }

  onApplicationShutdown(): void {
    this.replicas.stop();
    this.columns.detach();
    this.keyring.close();
    this.starting = undefined;
  }

  /** Opens the keyring once; concurrent calls share one start, a failed one may be retried. */
  initialize(): Promise<void> {
    this.starting ??= this.start().catch((error: unknown) => {
      this.starting = undefined;
      throw error;
    });
    return this.starting;
  }

  private async start(): Promise<void> {
    const began = performance.now();
    const provider = this.guard.guard(
      await resolveMasterKeyProvider({
        masterKey: this.options.masterKey,
        environmentKey: this.options.environmentKey,
        developmentMasterKeyFile: this.options.developmentMasterKeyFile,
        production: this.options.production,
        providerName: this.options.masterKeyProviderName,
        env: this.options.env,
      }),
    );
    let previous: MasterKeyProvider | undefined;
    let additional: MasterKeyProvider[] = [];
    try {
      const previousProvider = await previousMasterKeyProvider(
        this.options.previousMasterKey,
        this.options.previousMasterKeyProviderName,
        this.options.env,
      );
      previous = previousProvider && this.guard.guard(previousProvider);
      additional = (
        await additionalMasterKeyProviders(this.options.additionalMasterKeys, this.options.env)
      ).map((key) => this.guard.guard(key));
      const { keyring, created, masterKeyRotation } = await this.openWithinStartupWait(
        provider,
        previous,
        additional,
      );
      this.keyring.opened(keyring, previous, additional);
      if (!keyring.primaryVerified) {
        this.logger.warn({
          event: KMS_EVENTS.masterKeyUnverified,
          masterKeyFingerprint: keyring.fingerprint,
          message:
            'The primary master key could not be reached: the keyring opened with an additional master key. Data keys cannot be rotated until the primary answers (it is then checked against the stored fingerprint).',
        });
      }
      await this.legacy.load(created);
      if (masterKeyRotation) {
        this.logger.log({ event: KMS_EVENTS.masterKeyRotated, ...masterKeyRotation });
      }
      await this.columns.attach();
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
      if (error instanceof MasterKeyMismatchError) {
        // The process will not start: the refusal is recorded before it exits.
        await this.security.publishBeforeFailing({
          kind: 'master-key-mismatch',
          fingerprint: error.actualFingerprint,
        });
      }
      if (this.keyring.current) this.keyring.close();
      else {
        releaseProvider(provider);
        releaseProvider(previous);
        for (const key of additional) releaseProvider(key);
      }
      throw error;
    }
    this.lifecycle.start();
    this.guard.startProbing(() => this.keyring.probedMasterKeys());
  }

  /** Tenants' own master keys behind the same call policy as the keyring's; their moves logged. */
  private tenantMasterKeys(): TenantMasterKeys | undefined {
    const options = this.options.tenantMasterKeys;
    if (!options) return undefined;
    return new TenantMasterKeys(
      options,
      (provider) => this.guard.guard(provider),
      !this.region.replica,
      (keyIds, masterKeyFingerprint) =>
        this.logger.log({ event: KMS_EVENTS.tenantKeysRewrapped, keyIds, masterKeyFingerprint }),
    );
  }

  /**
   * Opens the keyring, trying again while the master key's provider fails transiently, for up to
   * `masterKeyCalls.startupWaitMs`; then refuses to start, naming the provider and the cause.
   */
  private async openWithinStartupWait(
    provider: MasterKeyProvider,
    previous: MasterKeyProvider | undefined,
    additional: readonly MasterKeyProvider[],
  ): ReturnType<typeof Keyring.open> {
    const waitMs = this.options.masterKeyStartupWaitMs;
    const deadline = performance.now() + waitMs;
    for (let attempt = 1; ; attempt++) {
      try {
        return await Keyring.open(provider, this.store, {
          previous,
          additional,
          assertWritable: this.region.replica
            ? (operation) => this.region.assertWritable(operation)
            : undefined,
          now: this.options.clock,
          newKeyId: (creating) => this.legacy.newKeyId(creating),
          tenantMasterKeys: this.tenantMasterKeys(),
        });
      } catch (error) {
        if (!(error instanceof MasterKeyUnavailableError)) throw error;
        const leftMs = deadline - performance.now();
        if (leftMs <= 0) {
          throw new MasterKeyUnavailableError(
            error.provider,
            `${error.reason}; still failing after the start-up wait of ${waitMs} ms (masterKeyCalls.startupWaitMs)`,
          );
        }
        const retryInMs = Math.round(Math.min(leftMs, this.options.masterKeyCalls.maxBackoffMs));
        this.logger.warn({
          event: KMS_EVENTS.masterKeyWaiting,
          provider: error.provider,
          attempt,
          error: error.message,
          retryInMs,
        });
        await sleep(retryInMs);
      }
    }
  }
}
