import type { DataSource, EntityManager } from 'typeorm';
import { IsNull, Not } from 'typeorm';
import type { KmsStorage } from '@nest-kms/kms/extension';
import { SecretVersionEntity } from './entities/secret-version.entity.js';
import { SecretEntity } from './entities/secret.entity.js';
import type { SecretMetadata } from './interfaces/secret-operations.interface.js';
import {
  countStatement,
  listingStatement,
  metadataOfRow,
  type ListingFilter,
  type ListingStatement,
} from './listing/listing-sql.js';
import { deleteSecretTags } from './listing/secret-tags.js';

/** What a cache miss needs, in one primary-key read. */
export interface CurrentSecretRow {
  currentVersion: number;
  currentEnvelope: string;
  /** The data key of the current value: a cached value goes when that key is destroyed. */
  currentKeyId: string;
  expiresAt: number | null;
  deletedAt: number | null;
  recoverableUntil: number | null;
}

const toNumber = (value: unknown): number | null => (value === null ? null : Number(value));

const toCurrentRow = (row: Record<string, unknown>): CurrentSecretRow => ({
  currentVersion: Number(row.current_version),
  currentEnvelope: row.current_envelope as string,
  currentKeyId: row.current_key_id as string,
  expiresAt: toNumber(row.expires_at),
  deletedAt: toNumber(row.deleted_at),
  recoverableUntil: toNumber(row.recoverable_until),
});

// Raw SQL on purpose: the miss path is measured against a bare primary-key SELECT.
const CURRENT_COLUMNS =
  'current_version, current_envelope, current_key_id, expires_at, deleted_at, recoverable_until';
const SELECT_CURRENT = `SELECT ${CURRENT_COLUMNS} FROM kms_secrets WHERE name =`;

const isPostgres = (dataSource: DataSource): boolean => dataSource.options.type === 'postgres';

/** The secrets tables, on the KMS DataSource (opened on first use). SQL lives here; the service decides. */
export class SecretsStore {
  constructor(private readonly storage: KmsStorage) {}

  async readCurrent(name: string): Promise<CurrentSecretRow | undefined> {
    const rows = (await this.storage.run((dataSource) =>
      dataSource.query(`${SELECT_CURRENT} ${isPostgres(dataSource) ? '$1' : '?'}`, [name]),
    )) as Record<string, unknown>[];
    const row = rows[0];
    return row === undefined ? undefined : toCurrentRow(row);
  }

  /** readCurrent() of several names in one query: the rows found, by name. */
  async readCurrentMany(names: readonly string[]): Promise<Map<string, CurrentSecretRow>> {
    const rows = (await this.storage.run((dataSource) => {
      const postgres = isPostgres(dataSource);
      const list = names.map((_, i) => (postgres ? `$${i + 1}` : '?')).join(', ');
      return dataSource.query(
        `SELECT name, ${CURRENT_COLUMNS} FROM kms_secrets WHERE name IN (${list})`,
        [...names],
      );
    })) as Record<string, unknown>[];
    return new Map(rows.map((row) => [row.name as string, toCurrentRow(row)]));
  }

  /** Metadata of live secrets matching `filter`, in name order: `limit` of them, or all. */
  async listMetadata(filter: ListingFilter, limit?: number): Promise<SecretMetadata[]> {
    const rows = await this.runListing((postgres) => listingStatement(postgres, filter, limit));
    return rows.map((row) => metadataOfRow(row, filter.scope));
  }

  async countLive(filter: ListingFilter): Promise<number> {
    const rows = await this.runListing((postgres) => countStatement(postgres, filter));
    return Number(rows[0].count);
  }

  private runListing(
    statement: (postgres: boolean) => ListingStatement,
  ): Promise<Record<string, unknown>[]> {
    return this.storage.run((dataSource) => {
      const { sql, parameters } = statement(isPostgres(dataSource));
      return dataSource.query(sql, parameters) as Promise<Record<string, unknown>[]>;
    });
  }

  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.storage.transaction(work);
  }

  /**
   * A transaction that reads one consistent snapshot of every table: REPEATABLE READ on
   * Postgres; on SQLite every transaction already runs alone.
   */
  async snapshotTransaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    const postgres = isPostgres(await this.storage.dataSource());
    return this.storage.transaction(work, postgres ? 'REPEATABLE READ' : undefined);
  }

  /** The secret's row, locked against concurrent writers until the transaction ends (Postgres). */
  lock(manager: EntityManager, name: string): Promise<SecretEntity | null> {
    const query = manager
      .createQueryBuilder(SecretEntity, 'secret')
      .where('secret.name = :name', { name });
    if (isPostgres(manager.connection)) query.setLock('pessimistic_write');
    return query.getOne();
  }

  find(name: string): Promise<SecretEntity | null> {
    return this.storage.run((dataSource) =>
      dataSource.getRepository(SecretEntity).findOneBy({ name }),
    );
  }

  findVersion(name: string, version: number): Promise<SecretVersionEntity | null> {
    return this.storage.run((dataSource) =>
      dataSource.getRepository(SecretVersionEntity).findOneBy({ secretName: name, version }),
    );
  }

  /** Every secret, deleted ones included, ordered by name. */
  listAll(): Promise<SecretEntity[]> {
    return this.storage.run((dataSource) =>
      dataSource.getRepository(SecretEntity).find({ order: { name: 'ASC' } }),
    );
  }

  listVersions(name: string): Promise<SecretVersionEntity[]> {
    return this.storage.run((dataSource) =>
      dataSource
        .getRepository(SecretVersionEntity)
        .find({ where: { secretName: name }, order: { version: 'DESC' } }),
    );
  }

  counts(now: number): Promise<{ secretsCount: number; expiredSecretsCount: number }> {
    return this.storage.run(async (dataSource) => {
      const repo = dataSource.getRepository(SecretEntity);
      const secretsCount = await repo.countBy({ deletedAt: IsNull() });
      const expiredSecretsCount = await repo
        .createQueryBuilder('secret')
        .where(
          'secret.deleted_at IS NULL AND secret.expires_at IS NOT NULL AND secret.expires_at <= :now',
          { now },
        )
        .getCount();
      return { secretsCount, expiredSecretsCount };
    });
  }

  async destroy(manager: EntityManager, name: string): Promise<void> {
    await deleteSecretTags(manager, name);
    await manager.delete(SecretVersionEntity, { secretName: name });
    await manager.delete(SecretEntity, { name, deletedAt: Not(IsNull()) });
  }
}
