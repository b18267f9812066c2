import { Inject, Injectable, Logger } from '@nestjs/common';
import type { SchedulerRegistry } from '@nestjs/schedule';
import { EnvelopeActivity } from '../core/envelope-activity.js';
import { KmsKeyring } from '../core/kms-keyring.js';
import { KmsError } from '../errors/kms.error.js';
import type { DataKeyRotation } from '../interfaces/data-key-rotation.interface.js';
import type { ReencryptOptions } from '../interfaces/reencrypt-options.interface.js';
import type { DataKey } from '../keyring/data-key.js';
import { DAY_MS, KMS_RESOLVED_OPTIONS, KMS_SCHEDULER_REGISTRY } from '../kms.constants.js';
import { KMS_EVENTS } from '../kms.messages.js';
import type { ResolvedKmsOptions } from '../kms.options.js';
import { KmsMetrics } from '../metrics/kms-metrics.js';
import { LegacyEnvelopes } from '../reencryption/legacy-envelopes.js';
import { ReencryptionJob, type ReencryptionResult } from '../reencryption/reencryption.job.js';
import { KmsStorage } from '../storage/kms-storage.js';
import { KMS_DATA_KEY_ROTATION_JOB, KMS_REENCRYPTION_JOB } from './kms-jobs.constants.js';
import { LifecycleInterval } from './lifecycle-interval.js';

/** Keys not in memory (tenants') wrapped under additional master keys per check at most. */
export const STORED_KEYS_WRAPPED_PER_CHECK = 500;

/** Tenants' keys rotated by one scheduled check at most; the rest wait for the next check. */
export const TENANT_ROTATIONS_PER_CHECK = 100;

/** Why the scheduler rotates; rotateDataKey(reason) records the caller's ('manual' by default). */
export type RotationReason = 'age' | 'usage_limit';

/**
 * The keyring's background work: the scheduled rotation check (usage counts out, then a
 * conditional rotation when the active key is too old or too used) and re-encryption, each a
 * LifecycleInterval; and the record of rotations (log, metrics, status).
 */
@Injectable()
export class KeyLifecycle {
  private readonly logger = new Logger('KmsService');
  private readonly rotationJob: LifecycleInterval;
  private readonly reencryptionJob: LifecycleInterval;
  /** Rotations this process made since start. */
  rotations = 0;
  lastReencryption: ReencryptionResult | null = null;
  /**
   * The keys as of the last run that left nothing movable (settledKeys()): until the active key
   * changes, a tenant's key is rotated here, or keys are imported, the scheduler has nothing to
   * do, and neither scans the tables nor fails the same unopenable envelopes again.
   */
  private settledUnder: string | undefined;
  /** Tenants' keys rotated by this process: each leaves envelopes to move. */
  private tenantRotations = 0;

  constructor(
    @Inject(KMS_SCHEDULER_REGISTRY) scheduler: SchedulerRegistry,
    private readonly storage: KmsStorage,
    private readonly metrics: KmsMetrics,
    @Inject(KMS_RESOLVED_OPTIONS) private readonly options: ResolvedKmsOptions,
    private readonly keyring: KmsKeyring,
    private readonly reencryption: ReencryptionJob,
    private readonly legacy: LegacyEnvelopes,
    activity: EnvelopeActivity,
  ) {
    // Every `usageFlushEvery` encryptions: flush and check early, off the hot path.
    activity.onUsageBatch(() => void this.rotationJob.tick());
    this.rotationJob = new LifecycleInterval(scheduler, KMS_DATA_KEY_ROTATION_JOB, () =>
      this.checkRotation(),
    );
    this.reencryptionJob = new LifecycleInterval(scheduler, KMS_REENCRYPTION_JOB, () =>
      this.reencryptIfRegistered(),
    );
  }

  /** Starts the intervals (the keyring is open); none in a replica region, which never writes. */
  start(): void {
    if (this.options.region.role === 'replica') return;
    this.rotationJob.start(this.options.checkIntervalMs);
    if (this.options.autoReencrypt) this.reencryptionJob.start(this.options.checkIntervalMs);
  }

  /** Stops the intervals, waits for a run under way, and writes the usage counts. */
  async stop(): Promise<void> {
    await Promise.all([this.rotationJob.stop(), this.reencryptionJob.stop()]);
    if (this.options.region.role === 'replica') return;
    await this.keyring.current?.flushUsage().catch(() => undefined);
  }

  /** The rotation check then a re-encryption pass, now. */
  async run(): Promise<void> {
    await this.rotationJob.tick();
    await this.reencryptionJob.tick();
  }

  /** A new active data key now, recorded with `reason` (see KmsService.rotateDataKey). */
  async rotateDataKey(reason: string): Promise<DataKeyRotation> {
    const rotation = (await this.keyring.ready().rotate())!;
    this.rotated(rotation.keyId, rotation.previousKeyId, reason);
    return rotation;
  }

  /** Records a rotation this process made, and starts moving envelopes off the retired key. */
  private rotated(keyId: string, previousKeyId: string | null, reason: string): void {
    this.rotations++;
    this.metrics.keyRotations.inc({ reason });
    this.logger.log({ event: KMS_EVENTS.dataKeyRotated, keyId, previousKeyId, reason });
    if (this.options.autoReencrypt) void this.reencryptionJob.tick();
  }

  /**
   * Records a rotation of a tenant's key by this process, and starts moving its envelopes off
   * the retired key. (A rotation by another replica is moved by that replica's job.)
   */
  tenantKeyRotated(rotation: DataKeyRotation, reason: string): void {
    this.tenantRotations++;
    this.metrics.tenantKeyRotations.inc({ reason });
    this.logger.log({ event: KMS_EVENTS.tenantKeyRotated, ...rotation, reason });
    if (this.options.autoReencrypt) void this.reencryptionJob.tick();
  }

  async reencrypt(options: ReencryptOptions = {}): Promise<ReencryptionResult> {
    const keysAtStart = this.settledKeys();
    const { reencryptedEnvelopes, reencryptionRemaining } = this.metrics;
    let counted = { moved: 0, failed: 0 };
    const result = await this.reencryption.run({
      batchSize: options.batchSize ?? this.options.reencryptionBatchSize,
      entities: options.entities,
      onProgress: (progress) => {
        reencryptedEnvelopes.inc({ outcome: 'moved' }, progress.moved - counted.moved);
        reencryptedEnvelopes.inc({ outcome: 'failed' }, progress.failed - counted.failed);
        counted = progress;
        reencryptionRemaining.set(Math.max(0, progress.total - progress.moved - progress.failed));
        options.onProgress?.(progress);
      },
    });
    if (result.ran) {
      this.lastReencryption = result;
      reencryptionRemaining.set(result.remaining);
      // Only a run over every column may let the scheduler rest.
      if (!options.entities && result.remaining <= result.failed) this.settledUnder = keysAtStart;
    }
    // A store that just stopped accepting format v1 gets a data key whose id says so.
    if (this.legacy.rotationDueAfterRefusal(this.keyring.ready().active.id)) {
      await this.rotateDataKey('legacy_envelopes_refused');
    }
    return result;
  }

  countUsing(keyId: string): Promise<number> {
    return this.reencryption.countUsing(keyId);
  }

  private async checkRotation(): Promise<void> {
    // The usage batch calls this too: a replica region counts but writes nothing.
    if (this.options.region.role === 'replica') return;
    const keyring = this.keyring.ready();
    // Counts first: keys about to be dropped may have sealed since the last flush.
    await keyring.flushUsage();
    if (keyring.hasTenantKeys) keyring.tenants.dropExpired();
    await keyring.wraps.catchUp(STORED_KEYS_WRAPPED_PER_CHECK);
    const active = keyring.active;
    const reason = this.rotationReason(active);
    if (reason) {
      try {
        const rotation = await keyring.rotate(active.id);
        if (rotation) this.rotated(rotation.keyId, rotation.previousKeyId, reason);
      } catch (error) {
        this.rotationFailed(active.id, reason, error);
        throw error;
      }
    }
    if (keyring.hasTenantKeys) await this.rotateDueTenants();
  }

  /**
   * Tenants' active keys past the same limits as the keyring's (age, usage), for the tenants in
   * memory, TENANT_ROTATIONS_PER_CHECK at a time so that keys made together and due together
   * do not hold the keyring lock for one long pass. One tenant's failure (its own master key
   * refusing) is logged and does not stop the others.
   */
  private async rotateDueTenants(): Promise<void> {
    const tenants = this.keyring.ready().tenants;
    const due = tenants.due((key) => this.rotationReason(key), TENANT_ROTATIONS_PER_CHECK);
    for (const { tenant, keyId, reason } of due) {
      try {
        const rotation = await tenants.rotateIfActive(tenant, keyId);
        if (rotation) this.tenantKeyRotated(rotation, reason);
      } catch (error) {
        this.rotationFailed(keyId, reason, error);
      }
    }
  }

  private rotationFailed(keyId: string, reason: RotationReason, error: unknown): void {
    this.logger.error({
      event: KMS_EVENTS.dataKeyRotationFailed,
      keyId,
      reason,
      code: error instanceof KmsError ? error.code : null,
    });
  }

  private rotationReason(active: DataKey): RotationReason | null {
    const { rotationDays, maxEncryptionsPerKey } = this.options;
    if (active.encryptions + active.pendingEncryptions >= maxEncryptionsPerKey) {
      return 'usage_limit';
    }
    if (rotationDays > 0 && this.options.clock() - active.createdAt >= rotationDays * DAY_MS) {
      return 'age';
    }
    return null;
  }

  /** Imported keys may come with envelopes under them: the next scheduled run looks again. */
  keysImported(): void {
    this.settledUnder = undefined;
  }

  private async reencryptIfRegistered(): Promise<void> {
    if (this.storage.envelopeColumns().length === 0) return;
    if (this.settledUnder === this.settledKeys()) return;
    await this.reencrypt();
  }

  /** What a settled run is settled under: the active key, and the tenants' rotations here. */
  private settledKeys(): string {
    return `${this.keyring.ready().active.id}/${this.tenantRotations}`;
  }
}
