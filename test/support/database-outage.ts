import Database from 'better-sqlite3';
import type { KmsConnectionOptions } from '@nest-kms/kms';
import type { TestDatabase } from './databases.js';
import { TcpProxy } from './tcp-proxy.js';

/** A database outage a test switches on and off, on either engine, without stopping a server. */
export interface DatabaseOutage {
  /** What the app under test connects with: through a TcpProxy on Postgres, the file on SQLite. */
  readonly connection: KmsConnectionOptions;
  /** Postgres: every connection is reset and new ones too. SQLite: another connection holds an exclusive lock. */
  refuse(): void;
  /** Postgres: traffic is accepted and held, never answered. SQLite: as refuse(), statements wait out the busy timeout. */
  silence(): void;
  /** The database answers again. */
  restore(): void;
  /** Postgres: whether traffic held by silence() carries `text` (a statement the server gets late). SQLite: false, nothing is held. */
  holds(text: string): boolean;
  /** Postgres: settles once the server has answered what restore() delivered late. SQLite: at once. */
  delivered(): Promise<void>;
  close(): Promise<void>;
}

export async function databaseOutage(db: TestDatabase): Promise<DatabaseOutage> {
  if (db.engine === 'postgres') {
    const url = new URL((db.connection as { url: string }).url);
    const proxy = await TcpProxy.start({ host: url.hostname, port: Number(url.port || 5432) });
    url.host = `127.0.0.1:${proxy.port}`;
    return {
      connection: { ...db.connection, url: url.toString() } as KmsConnectionOptions,
      refuse: () => proxy.refuse(),
      silence: () => proxy.silence(),
      restore: () => proxy.restore(),
      holds: (text) => proxy.holds(text),
      delivered: () => proxy.delivered(),
      close: () => proxy.close(),
    };
  }
  const file = (db.connection as { database: string }).database;
  let locker: Database.Database | undefined;
  const lock = () => {
    locker ??= new Database(file);
    if (!locker.inTransaction) locker.exec('BEGIN EXCLUSIVE');
  };
  const unlock = () => {
    if (locker?.inTransaction) locker.exec('ROLLBACK');
  };
  return {
    connection: db.connection,
    refuse: lock,
    silence: lock,
    restore: unlock,
    holds: () => false,
    delivered: async () => undefined,
    close: async () => {
      unlock();
      locker?.close();
    },
  };
}
