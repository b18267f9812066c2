import { IsNull } from 'typeorm';
import { KmsDataKeyEntity } from '../entities/kms-data-key.entity.js';
import { KEYRING_ID, KmsKeyringEntity } from '../entities/kms-keyring.entity.js';
import { KmsMasterKeyWrapEntity } from '../entities/kms-master-key-wrap.entity.js';
import { MasterKeyMismatchError } from '../errors/master-key-mismatch.error.js';
import { indexRootRow } from '../keyring/index-root-key.js';
import type {
  AdditionalWrap,
  KeyringStore,
  RotationOutcome,
  StoredDataKey,
} from '../keyring/keyring-store.interface.js';
import { KEYRING_TOPICS, lockKeyring, lockKeyringUnder } from './keyring-lock.js';
import type { KmsStorage } from './kms-storage.js';
import { TypeOrmMasterKeyWraps } from './typeorm-master-key-wraps.js';
import { TypeOrmTenantKeys } from './typeorm-tenant-keys.js';
import { fromRow, toRow, underKeyringMasterKey } from './data-key-rows.js';
import type { KmsNotifications } from '../notifications/kms-notifications.js';
import { isUniqueViolation } from './unique-violation.js';

/** KeyringStore on a TypeORM DataSource (Postgres or SQLite); changes are published to the other replicas. */
export class TypeOrmKeyringStore implements KeyringStore {
  private readonly wraps: TypeOrmMasterKeyWraps;
  readonly tenantKeys: TypeOrmTenantKeys;

  constructor(
    private readonly storage: KmsStorage,
    private readonly notifications?: KmsNotifications,
  ) {
    this.wraps = new TypeOrmMasterKeyWraps(storage, notifications);
    this.tenantKeys = new TypeOrmTenantKeys(storage, notifications);
  }

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
      dataSource
        .getRepository(KmsDataKeyEntity)
        .find({ where: { tenant: IsNull() }, order: { createdAt: 'ASC' } }),
    );
    return rows.map(fromRow);
  }

  async findKey(id: string): Promise<StoredDataKey | null> {
    const row = await this.storage.run((dataSource) =>
      dataSource.getRepository(KmsDataKeyEntity).findOneBy({ id, tenant: IsNull() }),
    );
    return row ? fromRow(row) : null;
  }

  rotate(next: StoredDataKey, expectedActiveId?: string): Promise<RotationOutcome> {
    return this.storage.transaction(async (manager) => {
      await lockKeyringUnder(manager, next.masterKeyFingerprint);
      const previous = await manager.findOneBy(KmsDataKeyEntity, {
        status: 'active',
        tenant: IsNull(),
      });
      if (expectedActiveId !== undefined && previous && previous.id !== expectedActiveId) {
        return { rotated: false, activeKeyId: previous.id };
      }
      if (previous) {
        await manager.update(
          KmsDataKeyEntity,
          { id: previous.id, status: 'active' },
          { status: 'retired', retiredAt: next.createdAt },
        );
      }
      await manager.insert(KmsDataKeyEntity, toRow(next));
      await manager.update(KmsKeyringEntity, { id: KEYRING_ID }, { updatedAt: next.createdAt });
      await this.notifications?.publish(manager, {
        topic: KEYRING_TOPICS.dataKeyRotated,
        keyId: next.id,
      });
      return { rotated: true, previousKeyId: previous?.id ?? null };
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

  async readIndexRootKey(): Promise<Buffer | null> {
    const row = await this.storage.run((dataSource) =>
      dataSource.getRepository(KmsKeyringEntity).findOneBy({ id: KEYRING_ID }),
    );
    return row?.indexRootKey ? Buffer.from(row.indexRootKey, 'base64') : null;
  }

  storeIndexRootKey(fingerprint: string, wrapped: Buffer): Promise<boolean> {
    return this.storage.transaction(async (manager) => {
      await lockKeyringUnder(manager, fingerprint);
      const result = await manager
        .createQueryBuilder()
        .update(KmsKeyringEntity)
        .set({ indexRootKey: wrapped.toString('base64') })
        .where('id = :id AND index_root_key IS NULL', { id: KEYRING_ID })
        .execute();
      return (result.affected ?? 0) > 0;
    });
  }

  rewrapAll(
    from: string,
    to: string,
    rewrap: (key: StoredDataKey) => Promise<Buffer>,
  ): Promise<number | null> {
    return this.storage.transaction(async (manager) => {
      const fingerprint = await lockKeyring(manager);
      if (fingerprint === to) return null;
      if (fingerprint !== from) throw new MasterKeyMismatchError(fingerprint ?? '(none)', from);
      const rows = await manager.find(KmsDataKeyEntity, {
        where: underKeyringMasterKey(from),
        order: { createdAt: 'ASC' },
      });
      for (const row of rows) {
        const wrapped = await rewrap(fromRow(row));
        await manager.update(
          KmsDataKeyEntity,
          { id: row.id },
          { wrappedKey: wrapped.toString('base64'), masterKeyFingerprint: to },
        );
      }
      const keyring = await manager.findOneBy(KmsKeyringEntity, { id: KEYRING_ID });
      const indexRootKey = keyring?.indexRootKey
        ? (await rewrap(indexRootRow(Buffer.from(keyring.indexRootKey, 'base64'), from))).toString(
            'base64',
          )
        : null;
      // A master key that becomes the primary needs no additional wraps.
      await manager.delete(KmsMasterKeyWrapEntity, { masterKeyFingerprint: to });
      await manager.update(
        KmsKeyringEntity,
        { id: KEYRING_ID },
        { masterKeyFingerprint: to, updatedAt: Date.now(), indexRootKey },
      );
      await this.notifications?.publish(manager, {
        topic: KEYRING_TOPICS.masterKeyRotated,
        fingerprint: to,
      });
      return rows.length;
    });
  }

  listAdditionalMasterKeys(): Promise<string[]> {
    return this.wraps.listMasterKeys();
  }

  findWraps(keyId: string): Promise<AdditionalWrap[]> {
    return this.wraps.find(keyId);
  }

  insertWraps(wraps: readonly AdditionalWrap[]): Promise<void> {
    return this.wraps.insert(wraps);
  }

  keysWithoutWrap(fingerprint: string): Promise<string[]> {
    return this.wraps.keysWithout(fingerprint);
  }

  deleteWraps(fingerprint: string): Promise<number> {
    return this.wraps.deleteUnder(fingerprint);
  }

  promote(from: string, to: string): Promise<number | null> {
    return this.wraps.promote(from, to);
  }

  async addEncryptions(id: string, count: number): Promise<number> {
    const rows = await this.storage.queryRows(
      'UPDATE kms_data_keys SET encryptions = encryptions + ? WHERE id = ? RETURNING encryptions',
      [count, id],
    );
    return rows.length === 0 ? 0 : Number(rows[0].encryptions);
  }

  deleteRetired(id: string): Promise<boolean> {
    return this.storage.transaction(async (manager) => {
      await lockKeyring(manager);
      const result = await manager.delete(KmsDataKeyEntity, {
        id,
        status: 'retired',
        tenant: IsNull(),
      });
      if (!result.affected) return false;
      await manager.delete(KmsMasterKeyWrapEntity, { keyId: id });
      await this.notifications?.publish(manager, {
        topic: KEYRING_TOPICS.dataKeyDestroyed,
        keyId: id,
      });
      return true;
    });
  }
}
