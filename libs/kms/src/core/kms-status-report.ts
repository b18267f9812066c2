import { Inject, Injectable } from '@nestjs/common';
import type { KmsStatus } from '../interfaces/kms-status.interface.js';
import { DAY_MS, KMS_RESOLVED_OPTIONS } from '../kms.constants.js';
import type { ResolvedKmsOptions } from '../kms.options.js';
import { KmsMetrics } from '../metrics/kms-metrics.js';
import { KmsNotifications } from '../notifications/kms-notifications.js';
import { KeyLifecycle } from '../rotation/key-lifecycle.js';
import { EnvelopeActivity } from './envelope-activity.js';
import { KmsKeyring } from './kms-keyring.js';

/** KmsService.getStatus(), readable at any time (health checks, metrics); also fed to metrics. */
@Injectable()
export class KmsStatusReport {
  constructor(
    @Inject(KMS_RESOLVED_OPTIONS) private readonly options: ResolvedKmsOptions,
    private readonly keyring: KmsKeyring,
    private readonly lifecycle: KeyLifecycle,
    private readonly activity: EnvelopeActivity,
    private readonly notifications: KmsNotifications,
    metrics: KmsMetrics,
  ) {
    metrics.observeKeyring(() => this.status());
  }

  status(): KmsStatus {
    const keyring = this.keyring.current;
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
      decryptionFailures: this.activity.decryptionFailures,
      replicaNotifications: this.notifications.listening,
      lastReencryption: this.lifecycle.lastReencryption,
      tenantsInMemory: keyring?.hasTenantKeys ? keyring.tenants.size : 0,
    };
  }
}
