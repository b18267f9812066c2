import {
  type BeforeApplicationShutdown,
  Injectable,
  Logger,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { KmsStorage } from '../storage/kms-storage.js';

/** The LISTEN/NOTIFY channel replicas tell each other about rotations and secret changes on. */
const NOTIFY_CHANNEL = 'nest_kms';

/** What one replica tells the others: a topic and a few non-secret fields (ids, names, versions). */
export interface KmsNotification {
  readonly topic: string;
  readonly [field: string]: string | number | null;
}

type Listener = (notification: KmsNotification) => void | Promise<void>;

interface PgClient {
  query(sql: string): Promise<unknown>;
  on(event: 'notification', listener: (message: { payload?: string }) => void): void;
  on(event: 'error' | 'end', listener: (error?: Error) => void): void;
  removeAllListeners(event: string): void;
  processID?: number;
}

const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5_000;

/**
 * Replicas on one Postgres tell each other about key rotations and secret changes with
 * LISTEN/NOTIFY. A notification is published inside the transaction of the change, so it is
 * delivered on commit and never for a change that rolled back. One pooled connection per
 * process listens; when it is lost, it reconnects with backoff and then asks every subscriber
 * to resynchronise (reload everything), since notifications sent meanwhile are gone.
 * On SQLite (one process) there is nobody to tell: publish does nothing.
 */
@Injectable()
export class KmsNotifications implements BeforeApplicationShutdown, OnApplicationShutdown {
  /** This process: its own notifications come back to it and are skipped. */
  readonly origin = randomUUID();
  private readonly logger = new Logger('KmsNotifications');
  private readonly listeners = new Set<Listener>();
  private readonly resyncListeners = new Set<() => void | Promise<void>>();
  private dataSource: DataSource | undefined;
  private client: PgClient | undefined;
  private release: ((error?: Error) => void) | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reconnectDelay = RECONNECT_MIN_MS;
  private stopped = true;
  private lastPid: number | null = null;

  constructor(private readonly storage: KmsStorage) {}

  /** True while a connection is listening (always false on SQLite). */
  get listening(): boolean {
    return this.client !== undefined;
  }

  /** The Postgres backend pid of the listening connection, for operators (pg_stat_activity). */
  get listenerPid(): number | null {
    return this.client ? this.lastPid : null;
  }

  /** Calls `listener` for each notification from another process. Returns the unsubscribe. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Calls `listener` after a lost connection is back: reload whatever could have changed. */
  onResync(listener: () => void | Promise<void>): () => void {
    this.resyncListeners.add(listener);
    return () => this.resyncListeners.delete(listener);
  }

  /** Publishes inside `manager`'s transaction: the other replicas get it when it commits. */
  async publish(manager: EntityManager, notification: KmsNotification): Promise<void> {
    if (manager.connection.options.type !== 'postgres') return;
    await manager.query('SELECT pg_notify($1, $2)', [
      NOTIFY_CHANNEL,
      JSON.stringify({ ...notification, origin: this.origin }),
    ]);
  }

  /** Starts listening (Postgres only). Idempotent; KmsService calls it at start-up. */
  async start(): Promise<void> {
    if (!this.stopped) return;
    const dataSource = await this.storage.dataSource();
    if (dataSource.options.type !== 'postgres') return;
    this.dataSource = dataSource;
    this.stopped = false;
    await this.connect(false);
  }

  /** Gives the listening connection back before the DataSource closes its pool. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.onApplicationShutdown();
  }

  /** Stops listening (idempotent). */
  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.drop();
  }

  private async connect(resync: boolean): Promise<void> {
    const driver = this.dataSource!.driver as unknown as {
      obtainMasterConnection(): Promise<[PgClient, (error?: Error) => void]>;
    };
    let client: PgClient | undefined;
    try {
      const [connection, release] = await driver.obtainMasterConnection();
      if (this.stopped) {
        // Shut down while this connection was being obtained: give it straight back.
        release();
        return;
      }
      client = connection;
      this.client = connection;
      this.release = release;
      connection.on('notification', (message) => this.deliver(message.payload));
      connection.on('error', (error) => this.lost(connection, error));
      connection.on('end', () => this.lost(connection));
      await connection.query(`LISTEN ${NOTIFY_CHANNEL}`);
      this.lastPid = connection.processID ?? null;
    } catch (error) {
      if (client) this.lost(client, error as Error);
      else this.scheduleReconnect(error as Error);
      return;
    }
    this.reconnectDelay = RECONNECT_MIN_MS;
    this.logger.log({ event: 'kms_notifications_listening', pid: this.lastPid, resync });
    if (resync) await this.resync();
  }

  private lost(client: PgClient, error?: Error): void {
    if (this.client !== client) return;
    this.drop(error ?? new Error('connection ended'));
    if (!this.stopped) this.scheduleReconnect(error);
  }

  private drop(error?: Error): void {
    const client = this.client;
    const release = this.release;
    this.client = undefined;
    this.release = undefined;
    if (!client) return;
    client.removeAllListeners('notification');
    // A released client with an error is destroyed by the pool rather than reused.
    client.on('error', () => undefined);
    try {
      release?.(error ?? new Error('nest-kms stopped listening'));
    } catch {
      // Already released.
    }
  }

  private scheduleReconnect(error?: Error): void {
    if (this.stopped || this.reconnectTimer) return;
    this.logger.warn({
      event: 'kms_notifications_lost',
      retryInMs: this.reconnectDelay,
      code: (error as { code?: string } | undefined)?.code ?? null,
    });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.connect(true);
    }, this.reconnectDelay);
    this.reconnectTimer.unref();
    this.reconnectDelay = Math.min(this.reconnectDelay * 2, RECONNECT_MAX_MS);
  }

  private deliver(payload: string | undefined): void {
    let notification: (KmsNotification & { origin?: unknown }) | undefined;
    try {
      notification = JSON.parse(payload ?? '') as KmsNotification & { origin?: unknown };
    } catch {
      return;
    }
    if (typeof notification?.topic !== 'string' || notification.origin === this.origin) return;
    for (const listener of this.listeners) this.dispatch(() => listener(notification));
  }

  private async resync(): Promise<void> {
    await Promise.all([...this.resyncListeners].map((listener) => this.dispatch(listener)));
  }

  private async dispatch(work: () => void | Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      this.logger.error({
        event: 'kms_notification_failed',
        code: (error as { code?: string } | null)?.code ?? null,
        error: (error as Error | null)?.name ?? typeof error,
      });
    }
  }
}
