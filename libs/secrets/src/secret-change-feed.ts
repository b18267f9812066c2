import type { EntityManager } from 'typeorm';
import type { KmsNotification, KmsNotifications } from '@nest-kms/kms/extension';
import type { SecretChange } from './interfaces/secret-operations.interface.js';

const SECRET_CHANGED_TOPIC = 'secret_changed';
const REASONS = new Set<SecretChange['reason']>([
  'created',
  'updated',
  'rotated',
  'deleted',
  'recovered',
  'destroyed',
  'restored',
  'cleared',
  'resynced',
]);

/**
 * Where a change to a secret is told: to the other replicas from inside its transaction (they
 * hear of it when it commits, never for a rollback), then to this process once committed.
 */
export class SecretChangeFeed {
  constructor(
    private readonly notifications: KmsNotifications,
    private readonly local: (change: SecretChange) => void,
  ) {}

  /** Inside the change's transaction. */
  async publish(manager: EntityManager, change: SecretChange): Promise<void> {
    await this.notifications.publish(manager, {
      topic: SECRET_CHANGED_TOPIC,
      name: change.name,
      version: change.version,
      reason: change.reason,
    });
  }

  /** After the commit, in this process. */
  announce(change: SecretChange): void {
    this.local(change);
  }

  /** Another replica's change, or undefined for other topics and malformed notifications. */
  static fromNotification(notification: KmsNotification): SecretChange | undefined {
    const { topic, name, version, reason } = notification;
    if (topic !== SECRET_CHANGED_TOPIC || typeof name !== 'string') return undefined;
    if (version !== null && !Number.isSafeInteger(version)) return undefined;
    if (!REASONS.has(reason as SecretChange['reason'])) return undefined;
    return { name, version: version as number | null, reason: reason as SecretChange['reason'] };
  }
}
