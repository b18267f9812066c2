import { Injectable } from '@nestjs/common';
import type { DataSource, EntityManager } from 'typeorm';
import type { KmsEnvelopeColumn } from '../interfaces/kms-envelope-column.interface.js';
import { KmsStorage } from './kms-storage.js';

/**
 * The DataSource nest-kms keeps its tables in, for an application that shares it (`dataSource`
 * option) on SQLite. TypeORM gives SQLite one connection, so a statement the application issues
 * while a nest-kms job's transaction is open joins that transaction: it sees uncommitted rows and
 * rolls back with it. Run the application's statements through here and they wait their turn.
 * On Postgres (a pool) they run at once. A database that cannot be reached or does not answer in
 * time (the `database` option) rejects with DatabaseUnavailableError. Also where an application
 * registers its own columns of envelopes for re-encryption.
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

  /**
   * Registers an application column of envelopes made by `encryptToString()`: re-encryption
   * moves its values to the active key, and `destroyDataKey()` counts them. Allowed at any time.
   */
  registerEnvelopeColumn(column: KmsEnvelopeColumn): void {
    // Only the public form: a purpose would claim a nest-kms store's envelopes.
    this.storage.registerEnvelopeColumn({
      entity: column.entity,
      envelope: column.envelope,
      keyId: column.keyId,
    });
  }
}
