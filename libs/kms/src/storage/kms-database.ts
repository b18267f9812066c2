import { Injectable } from '@nestjs/common';
import type { DataSource, EntityManager } from 'typeorm';
import { KmsStorage } from './kms-storage.js';

/**
 * The DataSource nest-kms keeps its tables in, for an application that shares it (`dataSource`
 * option) on SQLite. TypeORM gives SQLite one connection, so a statement the application issues
 * while a nest-kms job's transaction is open joins that transaction: it sees uncommitted rows and
 * rolls back with it. Run the application's statements through here and they wait their turn.
 * On Postgres (a pool) they run at once. A database that cannot be reached or does not answer in
 * time (the `database` option) rejects with DatabaseUnavailableError.
 */
@Injectable()
export class KmsDatabase {
  constructor(private readonly storage: KmsStorage) {}

  /** Runs `work` against the DataSource, after nest-kms's pending work on SQLite. */
  run<T>(work: (dataSource: DataSource) => Promise<T>): Promise<T> {
    return this.storage.run(work);
  }

  /** Runs `work` in a transaction, after nest-kms's pending work on SQLite. */
  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.storage.transaction(work);
  }
}
