import { Injectable, Logger } from '@nestjs/common';
import { KmsKeyring } from '../core/kms-keyring.js';
import { isTenantKeyId } from '../keyring/tenant-ids.js';
import { KMS_EVENTS } from '../kms.messages.js';
import { LegacyEnvelopes } from '../reencryption/legacy-envelopes.js';
import { KEYRING_TOPICS } from '../storage/keyring-lock.js';
import { KmsNotifications, type KmsNotification } from './kms-notifications.js';

/**
 * What other replicas tell this keyring (Postgres LISTEN/NOTIFY): a rotation (load the new key
 * and write under it; a tenant's is read on that tenant's next use), a destroyed key (forget
 * it: a destroyed tenant's keys are zeroed here), a master-key rotation (this replica cannot
 * make keys any more: say so), a store that stopped accepting format-v1 values, and after a
 * lost connection, a full reload.
 */
@Injectable()
export class KeyringReplicaSync {
  private readonly logger = new Logger('KmsService');
  private unsubscribe: (() => void)[] = [];

  constructor(
    private readonly notifications: KmsNotifications,
    private readonly keyring: KmsKeyring,
    private readonly legacy: LegacyEnvelopes,
  ) {}

  async start(): Promise<void> {
    this.unsubscribe.push(
      this.notifications.subscribe((notification) => this.apply(notification)),
      this.notifications.onResync(async () => {
        const keyring = this.keyring.current;
        await keyring?.reload();
        await this.legacy.load(false);
        this.logger.log({ event: KMS_EVENTS.keyringResynced, dataKeysCount: keyring?.size });
      }),
    );
    await this.notifications.start();
  }

  stop(): void {
    for (const unsubscribe of this.unsubscribe.splice(0)) unsubscribe();
  }

  private async apply(notification: KmsNotification): Promise<void> {
    const keyring = this.keyring.current;
    if (!keyring) return;
    this.legacy.apply(notification);
    const { topic, keyId, fingerprint } = notification;
    // A tenant's key is loaded on its tenant's next use, never on a notification.
    if (typeof keyId === 'string' && isTenantKeyId(keyId)) {
      if (topic === KEYRING_TOPICS.dataKeyRotated) keyring.tenants.heardRotated(keyId);
      if (topic === KEYRING_TOPICS.dataKeyDestroyed) keyring.tenants.heardDestroyed(keyId);
    } else if (topic === KEYRING_TOPICS.dataKeyRotated && typeof keyId === 'string') {
      await keyring.heardOf(keyId);
    } else if (topic === KEYRING_TOPICS.dataKeyDestroyed && typeof keyId === 'string') {
      keyring.forget(keyId);
    } else if (topic === KEYRING_TOPICS.masterKeyRotated && fingerprint !== keyring.fingerprint) {
      // This replica cannot wrap new keys any more (rotations are refused in the database).
      this.logger.error({
        event: KMS_EVENTS.masterKeyChangedElsewhere,
        masterKeyFingerprint: keyring.fingerprint,
        newMasterKeyFingerprint: fingerprint,
        message:
          'Another replica rotated the master key: restart this one with the new KMS_MASTER_KEY',
      });
    }
  }
}
