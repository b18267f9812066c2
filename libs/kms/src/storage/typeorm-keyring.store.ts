import type { EntityManager } from 'typeorm';
import type { KmsStorage } from './kms-storage.js';
import { KmsDataKeyEntity } from '../entities/kms-data-key.entity.js';
import { KmsKeyringEntity } from '../entities/kms-keyring.entity.js';
import type { KeyringStore, StoredDataKey } from '../keyring/keyring-store.interface.js';
import { KEYRING_ID } from '../kms.constants.js';
import { isUniqueViolation } from './unique-violation.js';

/** KeyringStore on a TypeORM DataSource (Postgres or SQLite). */
export class TypeOrmKeyringStore implements KeyringStore {
  constructor(private readonly storage: KmsStorage) {}

  async readFingerprint(): Promise<string | null> {
    const row = await this.storage.run((dataSource) =>
      dataSource.getRepository(KmsKeyringEntity).findOneBy({ id: KEYRING_ID }),
    );
    return row?.masterKeyFingerprint ?? null;
  }

  async createKeyring(fingerprint: string, firstKey: StoredDataKey): Promise<boolean> {
    try {
      await this.storage.transaction(async (manager) => {
        await manager.insert(KmsKeyringEntity, {
          id: KEYRING_ID,
          masterKeyFingerprint: fingerprint,
          createdAt: firstKey.createdAt,
          updatedAt: firstKey.createdAt,
        });
        await manager.insert(KmsDataKeyEntity, toRow(firstKey));
      });
      return true;
    } catch (error) {
      if (isUniqueViolation(error)) return false;
      throw error;
    }
  }

  async listKeys(): Promise<StoredDataKey[]> {
    const rows = await this.storage.run((dataSource) =>
      dataSource.getRepository(KmsDataKeyEntity).find({ order: { createdAt: 'ASC' } }),
    );
    return rows.map(fromRow);
  }

  async findKey(id: string): Promise<StoredDataKey | null> {
    const row = await this.storage.run((dataSource) =>
      dataSource.getRepository(KmsDataKeyEntity).findOneBy({ id }),
    );
    return row ? fromRow(row) : null;
  }

  rotate(next: StoredDataKey): Promise<string | null> {
    return this.storage.transaction(async (manager) => {
      await this.lockKeyring(manager);
      const previous = await manager.findOneBy(KmsDataKeyEntity, { status: 'active' });
      if (previous) {
        await manager.update(
          KmsDataKeyEntity,
          { id: previous.id, status: 'active' },
          {
            status: 'retired',
            retiredAt: next.createdAt,
          },
        );
      }
      await manager.insert(KmsDataKeyEntity, toRow(next));
      await manager.update(KmsKeyringEntity, { id: KEYRING_ID }, { updatedAt: next.createdAt });
      return previous?.id ?? null;
    });
  }

  async insertRetired(keys: StoredDataKey[], retiredAt: number): Promise<void> {
    if (keys.length === 0) return;
    await this.storage.transaction(async (manager) => {
      for (const key of keys) {
        await manager.insert(
          KmsDataKeyEntity,
          toRow({ ...key, status: 'retired', retiredAt: key.retiredAt ?? retiredAt }),
        );
      }
    });
  }

  /**
   * Serialises rotations across processes: on Postgres a row lock on the keyring row, held to
   * commit. SQLite allows one writer per database file, so its transaction already does.
   */
  private async lockKeyring(manager: EntityManager): Promise<void> {
    if (manager.connection.options.type !== 'postgres') return;
    await manager
      .createQueryBuilder(KmsKeyringEntity, 'keyring')
      .setLock('pessimistic_write')
      .where('keyring.id = :id', { id: KEYRING_ID })
      .getOne();
  }
}

function toRow(key: StoredDataKey): KmsDataKeyEntity {
  return {
    id: key.id,
    wrappedKey: key.wrappedKey.toString('base64'),
    status: key.status,
    masterKeyFingerprint: key.masterKeyFingerprint,
    createdAt: key.createdAt,
    retiredAt: key.retiredAt,
  };
}

function fromRow(row: KmsDataKeyEntity): StoredDataKey {
  return {
    id: row.id,
    wrappedKey: Buffer.from(row.wrappedKey, 'base64'),
    status: row.status,
    masterKeyFingerprint: row.masterKeyFingerprint,
    createdAt: row.createdAt,
    retiredAt: row.retiredAt,
  };
}
