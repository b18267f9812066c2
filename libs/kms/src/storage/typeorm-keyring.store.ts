import type { EntityManager } from 'typeorm';
import type { KmsStorage } from './kms-storage.js';
import { KmsDataKeyEntity } from '../entities/kms-data-key.entity.js';
import { KEYRING_ID, KmsKeyringEntity } from '../entities/kms-keyring.entity.js';
import { MasterKeyMismatchError } from '../errors/master-key-mismatch.error.js';
import { KmsMasterKeyWrapEntity } from '../entities/kms-master-key-wrap.entity.js';
import { KeyringIntegrityError } from '../errors/keyring-integrity.error.js';
import { quotedInput } from '../errors/quoted-input.js';
import { INDEX_ROOT_KEY_ID, indexRootRow } from '../keyring/index-root-key.js';
import type {
  AdditionalWrap,
  KeyringStore,
  RotationOutcome,
  StoredDataKey,
} from '../keyring/keyring-store.interface.js';
import type { KmsNotifications } from '../notifications/kms-notifications.js';
import { isUniqueViolation } from './unique-violation.js';

/** Topics the keyring publishes to the other replicas. */
export const KEYRING_TOPICS = {
  dataKeyRotated: 'data_key_rotated',
  dataKeyDestroyed: 'data_key_destroyed',
  masterKeyRotated: 'master_key_rotated',
} as const;

/** KeyringStore on a TypeORM DataSource (Postgres or SQLite); changes are published to the other replicas. */
export class TypeOrmKeyringStore implements KeyringStore {
  constructor(
    private readonly storage: KmsStorage,
    private readonly notifications?: KmsNotifications,
  ) {}

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

  rotate(next: StoredDataKey, expectedActiveId?: string): Promise<RotationOutcome> {
    return this.storage.transaction(async (manager) => {
      const fingerprint = await this.lockKeyring(manager);
      if (fingerprint !== next.masterKeyFingerprint) {
        throw new MasterKeyMismatchError(fingerprint ?? '(none)', next.masterKeyFingerprint);
      }
      const previous = await manager.findOneBy(KmsDataKeyEntity, { status: 'active' });
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
      const current = await this.lockKeyring(manager);
      if (current !== fingerprint) {
        throw new MasterKeyMismatchError(current ?? '(none)', fingerprint);
      }
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
      const fingerprint = await this.lockKeyring(manager);
      if (fingerprint === to) return null;
      if (fingerprint !== from) throw new MasterKeyMismatchError(fingerprint ?? '(none)', from);
      const rows = await manager.find(KmsDataKeyEntity, { order: { createdAt: 'ASC' } });
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

  async listAdditionalMasterKeys(): Promise<string[]> {
    const rows = await this.storage.queryRows(
      'SELECT DISTINCT master_key_fingerprint FROM kms_master_key_wraps ORDER BY master_key_fingerprint',
      [],
    );
    return rows.map((row) => String(row.master_key_fingerprint));
  }

  async findWraps(keyId: string): Promise<AdditionalWrap[]> {
    const rows = await this.storage.run((dataSource) =>
      dataSource.getRepository(KmsMasterKeyWrapEntity).findBy({ keyId }),
    );
    return rows.map(fromWrapRow);
  }

  async insertWraps(wraps: readonly AdditionalWrap[]): Promise<void> {
    if (wraps.length === 0) return;
    await this.storage.transaction(async (manager) => {
      await this.lockKeyring(manager);
      const now = Date.now();
      for (const wrap of wraps) {
        // A data key destroyed since it was wrapped leaves no wrap behind.
        if (
          wrap.keyId !== INDEX_ROOT_KEY_ID &&
          !(await manager.existsBy(KmsDataKeyEntity, { id: wrap.keyId }))
        ) {
          continue;
        }
        await manager
          .createQueryBuilder()
          .insert()
          .into(KmsMasterKeyWrapEntity)
          .values({
            keyId: wrap.keyId,
            masterKeyFingerprint: wrap.masterKeyFingerprint,
            wrappedKey: wrap.wrappedKey.toString('base64'),
            createdAt: now,
          })
          .orIgnore()
          .execute();
      }
    });
  }

  async keysWithoutWrap(fingerprint: string): Promise<string[]> {
    const rows = await this.storage.queryRows(
      `SELECT id FROM kms_data_keys d WHERE NOT EXISTS (
         SELECT 1 FROM kms_master_key_wraps w WHERE w.key_id = d.id AND w.master_key_fingerprint = ?)
       UNION ALL
       SELECT ? AS id FROM kms_keyring k WHERE k.index_root_key IS NOT NULL AND NOT EXISTS (
         SELECT 1 FROM kms_master_key_wraps w WHERE w.key_id = ? AND w.master_key_fingerprint = ?)`,
      [fingerprint, INDEX_ROOT_KEY_ID, INDEX_ROOT_KEY_ID, fingerprint],
    );
    return rows.map((row) => String(row.id));
  }

  deleteWraps(fingerprint: string): Promise<number> {
    return this.storage.transaction(async (manager) => {
      await this.lockKeyring(manager);
      const result = await manager.delete(KmsMasterKeyWrapEntity, {
        masterKeyFingerprint: fingerprint,
      });
      return result.affected ?? 0;
    });
  }

  promote(from: string, to: string): Promise<number | null> {
    return this.storage.transaction(async (manager) => {
      const fingerprint = await this.lockKeyring(manager);
      if (fingerprint === to) return null;
      if (fingerprint !== from) throw new MasterKeyMismatchError(fingerprint ?? '(none)', from);
      const keyring = await manager.findOneByOrFail(KmsKeyringEntity, { id: KEYRING_ID });
      const wraps = new Map(
        (await manager.findBy(KmsMasterKeyWrapEntity, { masterKeyFingerprint: to })).map((wrap) => [
          wrap.keyId,
          wrap.wrappedKey,
        ]),
      );
      const rows = await manager.find(KmsDataKeyEntity, { order: { createdAt: 'ASC' } });
      const now = Date.now();
      const swap = async (keyId: string, primaryWrap: string): Promise<string> => {
        const promoted = wraps.get(keyId);
        if (promoted === undefined) {
          throw new KeyringIntegrityError(
            keyId,
            `it has no wrap under master key ${quotedInput(to)} yet; promote it once its wraps have caught up, or start with the current master key as KMS_MASTER_KEY_PREVIOUS`,
          );
        }
        await manager.insert(KmsMasterKeyWrapEntity, {
          keyId,
          masterKeyFingerprint: from,
          wrappedKey: primaryWrap,
          createdAt: now,
        });
        return promoted;
      };
      for (const row of rows) {
        const wrappedKey = await swap(row.id, row.wrappedKey);
        await manager.update(
          KmsDataKeyEntity,
          { id: row.id },
          { wrappedKey, masterKeyFingerprint: to },
        );
      }
      const indexRootKey = keyring.indexRootKey
        ? await swap(INDEX_ROOT_KEY_ID, keyring.indexRootKey)
        : keyring.indexRootKey;
      await manager.delete(KmsMasterKeyWrapEntity, { masterKeyFingerprint: to });
      await manager.update(
        KmsKeyringEntity,
        { id: KEYRING_ID },
        { masterKeyFingerprint: to, updatedAt: now, indexRootKey },
      );
      await this.notifications?.publish(manager, {
        topic: KEYRING_TOPICS.masterKeyRotated,
        fingerprint: to,
      });
      return rows.length;
    });
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
      await this.lockKeyring(manager);
      const result = await manager.delete(KmsDataKeyEntity, { id, status: 'retired' });
      if (!result.affected) return false;
      await manager.delete(KmsMasterKeyWrapEntity, { keyId: id });
      await this.notifications?.publish(manager, {
        topic: KEYRING_TOPICS.dataKeyDestroyed,
        keyId: id,
      });
      return true;
    });
  }

  /**
   * Serialises keyring changes across processes: on Postgres a row lock on the keyring row,
   * held to commit. SQLite allows one writer per database file, so its transaction already
   * does. Returns the keyring's master key fingerprint as of the lock.
   */
  private async lockKeyring(manager: EntityManager): Promise<string | null> {
    const query = manager
      .createQueryBuilder(KmsKeyringEntity, 'keyring')
      .where('keyring.id = :id', { id: KEYRING_ID });
    if (manager.connection.options.type === 'postgres') query.setLock('pessimistic_write');
    const row = await query.getOne();
    return row?.masterKeyFingerprint ?? null;
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

function fromWrapRow(row: KmsMasterKeyWrapEntity): AdditionalWrap {
  return {
    keyId: row.keyId,
    masterKeyFingerprint: row.masterKeyFingerprint,
    wrappedKey: Buffer.from(row.wrappedKey, 'base64'),
  };
}
