import { Subject, type Observable } from 'rxjs';
import type { EntityManager } from 'typeorm';
import type { KmsNotification, KmsNotifications } from '@nest-kms/kms/extension';
import type { SecretChange } from './interfaces/secret-operations.interface.js';
import type { SecretReader } from './secret-reader.js';
import type { SecretsStore } from './secrets.store.js';

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
 * hear of it when it commits, never for a rollback), then to this process once committed. A
 * change drops the secret's cached value before anyone hears of it, so a watcher that reads
 * the secret on a change reads the new value.
 */
export class SecretChangeFeed {
  private readonly local = new Subject<SecretChange>();

  constructor(
    private readonly notifications: KmsNotifications,
    private readonly reader: SecretReader,
    private readonly store: SecretsStore,
  ) {}

  /** Changes made here and, once follow() runs, on the other replicas. Never a value. */
  get changes(): Observable<SecretChange> {
    return this.local.asObservable();
  }

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
    this.reader.invalidate(change.name);
    this.local.next(change);
  }

  /**
   * Another replica's change drops the cached value and is announced as a local one would be.
   * After a lost connection, every cached value goes and every stored secret is announced, since
   * changes made meanwhile were not heard (a secret destroyed meanwhile is not: it has no row).
   * Returns what stops following.
   */
  follow(): () => void {
    const unsubscribe = [
      this.notifications.subscribe((notification) => {
        const change = SecretChangeFeed.fromNotification(notification);
        if (change) this.announce(change);
      }),
      this.notifications.onResync(async () => {
        this.reader.clear();
        for (const secret of await this.store.listAll()) {
          this.local.next({
            name: secret.name,
            version: secret.deletedAt === null ? secret.currentVersion : null,
            reason: 'resynced',
          });
        }
      }),
    ];
    return () => {
      for (const stop of unsubscribe) stop();
    };
  }

  /** No more changes: watchers complete. */
  close(): void {
    this.local.complete();
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
