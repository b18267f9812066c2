import type { DataSource, EntityManager } from 'typeorm';
import { IsNull, Not } from 'typeorm';
import type { KmsStorage } from '@nest-kms/kms/extension';
import { SecretVersionEntity } from './entities/secret-version.entity.js';
import { SecretEntity } from './entities/secret.entity.js';

/** What a cache miss needs, in one primary-key read. */
export interface CurrentSecretRow {
  currentVersion: number;
  currentEnvelope: string;
  expiresAt: number | null;
  deletedAt: number | null;
  recoverableUntil: number | null;
}

const toNumber = (value: unknown): number | null => (value === null ? null : Number(value));

// Raw SQL on purpose: the miss path is measured against a bare primary-key SELECT.
const SELECT_CURRENT = `SELECT current_version, current_envelope, expires_at, deleted_at, recoverable_until FROM kms_secrets WHERE name =`;

const isPostgres = (dataSource: DataSource): boolean => dataSource.options.type === 'postgres';

/** The secrets tables, on the KMS DataSource (opened on first use). SQL lives here; the service decides. */
export class SecretsStore {
  constructor(private readonly storage: KmsStorage) {}

  async readCurrent(name: string): Promise<CurrentSecretRow | undefined> {
    const rows = (await this.storage.run((dataSource) =>
      dataSource.query(`${SELECT_CURRENT} ${isPostgres(dataSource) ? '$1' : '?'}`, [name]),
    )) as Record<string, unknown>[];
    const row = rows[0];
    if (row === undefined) return undefined;
    return {
      currentVersion: Number(row.current_version),
      currentEnvelope: row.current_envelope as string,
      expiresAt: toNumber(row.expires_at),
      deletedAt: toNumber(row.deleted_at),
      recoverableUntil: toNumber(row.recoverable_until),
    };
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

  listLive(): Promise<SecretEntity[]> {
    return this.storage.run((dataSource) =>
      dataSource
        .getRepository(SecretEntity)
        .find({ where: { deletedAt: IsNull() }, order: { name: 'ASC' } }),
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
    await manager.delete(SecretVersionEntity, { secretName: name });
    await manager.delete(SecretEntity, { name, deletedAt: Not(IsNull()) });
  }
}
