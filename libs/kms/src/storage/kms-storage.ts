import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { getDataSourceToken } from '@nestjs/typeorm';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DataSource, type EntityManager } from 'typeorm';
import type { IsolationLevel } from 'typeorm/driver/types/IsolationLevel.js';
import { DatabaseUnavailableError } from '../errors/database-unavailable.error.js';
import { KmsConfigurationError } from '../errors/kms-configuration.error.js';
import { KMS_RESOLVED_OPTIONS } from '../kms.constants.js';
import type { ResolvedKmsOptions } from '../kms.options.js';
import type { EnvelopeColumn } from '../reencryption/envelope-column.js';
import { MIGRATION_ADVISORY_LOCK } from './advisory-locks.js';
import { databaseUnavailableReason } from './database-availability.js';
import { withDatabaseTimeouts } from './database-timeouts.js';
import { KMS_ENTITIES, KMS_MIGRATIONS } from './kms-schema.js';

/** Tables an extension library (e.g. @nest-kms/secrets) keeps beside the keyring. */
export interface KmsStorageExtension {
  /** Shown in errors: which library asked. */
  readonly name: string;
  readonly entities: readonly Function[];
  readonly migrations: readonly Function[];
  /** Its columns of envelopes: re-encryption moves them, key destruction counts them. */
  readonly envelopeColumns?: readonly EnvelopeColumn[];
}

/**
 * The DataSource the keyring lives in: the application's, or one this module opens, migrates
 * and, being its creator, closes at shutdown. Extension libraries register their tables
 * here so that everything nest-kms stores shares one connection (and one backup).
 */
@Injectable()
export class KmsStorage implements OnApplicationShutdown {
  private opening: Promise<DataSource> | undefined;
  private owned: DataSource | undefined;
  private readonly extensions: KmsStorageExtension[] = [];
  private readonly columns: EnvelopeColumn[] = [];
  private sqliteQueue: Promise<unknown> = Promise.resolve();
  private opened: DataSource | undefined;

  constructor(
    @Inject(KMS_RESOLVED_OPTIONS) private readonly options: ResolvedKmsOptions,
    private readonly moduleRef: ModuleRef,
  ) {}

  /**
   * Adds an extension's entities and migrations. Call it from a provider's constructor: the
   * DataSource opens during module initialisation, after which registration is refused.
   */
  register(extension: KmsStorageExtension): void {
    if (this.opening) {
      throw new KmsConfigurationError(
        `${extension.name} registered its tables after the KMS DataSource opened`,
      );
    }
    this.extensions.push(extension);
    for (const column of extension.envelopeColumns ?? []) this.registerEnvelopeColumn(column);
  }

  /**
   * Adds a column of envelopes for re-encryption and key-destruction checks. Unlike register(),
   * allowed at any time (e.g. by a module that discovers its entities at start-up).
   */
  registerEnvelopeColumn(column: EnvelopeColumn): void {
    const known = this.columns.some(
      (existing) => existing.entity === column.entity && existing.envelope === column.envelope,
    );
    if (!known) this.columns.push(column);
  }

  /** Every registered column of envelopes. */
  envelopeColumns(): readonly EnvelopeColumn[] {
    return this.columns;
  }

  /**
   * The DataSource, opened (and, when owned, migrated) on first call. A database that cannot
   * be reached rejects with DatabaseUnavailableError, and the next call tries again.
   */
  dataSource(): Promise<DataSource> {
    this.opening ??= this.open().then(
      (dataSource) => (this.opened = dataSource),
      (error: unknown) => {
        this.opening = undefined;
        throw this.unavailable(error) ?? error;
      },
    );
    return this.opening;
  }

  /**
   * Runs `work` against the DataSource. On SQLite, work runs one piece at a time: TypeORM gives
   * SQLite one connection, so a statement issued while another caller's transaction is open
   * joins it (a read sees uncommitted rows, a write rolls back with it). Every read and write
   * of nest-kms's tables goes through here or through transaction(). Postgres pools
   * connections, so there work runs at once. A database that cannot be reached or does not
   * answer in time (see the `database` option) rejects with DatabaseUnavailableError.
   */
  async run<T>(work: (dataSource: DataSource) => Promise<T>): Promise<T> {
    const dataSource = this.opened ?? (await this.dataSource());
    const guarded = async (): Promise<T> => {
      try {
        return await work(dataSource);
      } catch (error) {
        throw this.unavailable(error) ?? error;
      }
    };
    if (dataSource.options.type === 'postgres') return guarded();
    const run = this.sqliteQueue.then(guarded);
    this.sqliteQueue = run.catch(() => undefined);
    return run;
  }

  /**
   * `error` as a DatabaseUnavailableError when it says the database could not be reached or did
   * not answer in time (a driver error, or one already translated); else undefined.
   */
  unavailable(error: unknown): DatabaseUnavailableError | undefined {
    if (error instanceof DatabaseUnavailableError) return error;
    const reason = databaseUnavailableReason(error);
    return reason === undefined ? undefined : new DatabaseUnavailableError(reason);
  }

  /**
   * Runs one statement written with `?` placeholders (numbered for Postgres here) and returns its
   * rows: what an `UPDATE … RETURNING` answers on both engines (pg's plain query() answers such
   * an UPDATE with [rows, count]).
   */
  queryRows(sql: string, parameters: readonly unknown[]): Promise<Record<string, unknown>[]> {
    return this.run(async (dataSource) => {
      let at = 0;
      const text =
        dataSource.options.type === 'postgres' ? sql.replace(/\?/g, () => `$${++at}`) : sql;
      const runner = dataSource.createQueryRunner();
      try {
        const result = await runner.query(text, [...parameters], true);
        return (result.records ?? []) as Record<string, unknown>[];
      } finally {
        await runner.release();
      }
    });
  }

  /** Runs `work` in a transaction (one at a time on SQLite, see run()), at `isolation` if given. */
  transaction<T>(
    work: (manager: EntityManager) => Promise<T>,
    isolation?: IsolationLevel,
  ): Promise<T> {
    return this.run((dataSource) =>
      isolation ? dataSource.transaction(isolation, work) : dataSource.transaction(work),
    );
  }

  async onApplicationShutdown(): Promise<void> {
    const owned = this.owned;
    this.owned = undefined;
    this.opening = undefined;
    this.opened = undefined;
    if (owned?.isInitialized) await owned.destroy();
  }

  private async open(): Promise<DataSource> {
    const { storage } = this.options;
    if (storage.kind === 'owned') {
      const { connection } = storage;
      if (connection.type === 'better-sqlite3' && connection.database !== ':memory:') {
        await mkdir(dirname(connection.database), { recursive: true, mode: 0o700 });
      }
      const dataSource = new DataSource({
        ...withDatabaseTimeouts(connection, this.options.databaseTimeouts),
        entities: [...KMS_ENTITIES, ...this.extensions.flatMap((extension) => extension.entities)],
        migrations: [
          ...KMS_MIGRATIONS,
          ...this.extensions.flatMap((extension) => extension.migrations),
        ],
        migrationsRun: false,
        synchronize: false,
      } as typeof connection);
      await dataSource.initialize();
      try {
        await runMigrationsExclusively(dataSource);
      } catch (error) {
        await dataSource.destroy();
        throw error;
      }
      this.owned = dataSource;
      return dataSource;
    }
    const dataSource =
      typeof storage.dataSource === 'string'
        ? this.registered(storage.dataSource)
        : storage.dataSource;
    if (!dataSource.isInitialized) {
      throw new KmsConfigurationError('the DataSource given to KmsModule is not initialized');
    }
    if (!KMS_ENTITIES.every((entity) => dataSource.hasMetadata(entity))) {
      throw new KmsConfigurationError(
        'the application DataSource does not include the KMS entities: add ...KMS_ENTITIES to its entities and ...KMS_MIGRATIONS to its migrations',
      );
    }
    for (const extension of this.extensions) {
      if (!extension.entities.every((entity) => dataSource.hasMetadata(entity))) {
        throw new KmsConfigurationError(
          `the application DataSource does not include the entities of ${extension.name}: add them (and its migrations) to it`,
        );
      }
    }
    return dataSource;
  }

  private registered(name: string): DataSource {
    try {
      return this.moduleRef.get<DataSource>(getDataSourceToken(name), { strict: false });
    } catch {
      throw new KmsConfigurationError(
        `no TypeORM DataSource named "${name}" is registered; import TypeOrmModule.forRoot(...) before KmsModule`,
      );
    }
  }
}

/**
 * TypeORM's migration runner takes no lock: replicas starting together on an empty Postgres
 * would each try to create the tables. A session advisory lock lets one migrate while the
 * others wait, then find nothing pending. SQLite is one process and needs none.
 */
async function runMigrationsExclusively(dataSource: DataSource): Promise<void> {
  if (dataSource.options.type !== 'postgres') {
    await dataSource.runMigrations({ transaction: 'all' });
    return;
  }
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1, $2)', MIGRATION_ADVISORY_LOCK);
    await dataSource.runMigrations({ transaction: 'all' });
  } finally {
    await runner
      .query('SELECT pg_advisory_unlock($1, $2)', MIGRATION_ADVISORY_LOCK)
      .catch(() => undefined);
    await runner.release();
  }
}
