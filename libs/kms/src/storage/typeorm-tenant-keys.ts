import { In, IsNull, Not } from 'typeorm';
import { KmsDataKeyEntity } from '../entities/kms-data-key.entity.js';
import { KEYRING_ID, KmsKeyringEntity } from '../entities/kms-keyring.entity.js';
import { KmsMasterKeyWrapEntity } from '../entities/kms-master-key-wrap.entity.js';
import type { StoredDataKey } from '../keyring/keyring-store.interface.js';
import type { TenantKeyStore } from '../keyring/tenant-key-store.interface.js';
import type { KmsNotifications } from '../notifications/kms-notifications.js';
import { KEYRING_TOPICS, lockKeyring, lockKeyringUnder } from './keyring-lock.js';
import type { KmsStorage } from './kms-storage.js';
import { fromRow, toRow } from './data-key-rows.js';

/**
 * Tenants' data keys in kms_data_keys (rows whose `tenant` is the tenant's tag). Every change
 * takes the keyring lock, as the keyring's own changes do, and tells the other replicas with the
 * data-key topics (a tenant key id says which tenant it belongs to).
 */
export class TypeOrmTenantKeys implements TenantKeyStore {
  constructor(
    private readonly storage: KmsStorage,
    private readonly notifications?: KmsNotifications,
  ) {}

  async listTenantKeys(tag: string): Promise<StoredDataKey[]> {
    const rows = await this.storage.run((dataSource) =>
      dataSource
        .getRepository(KmsDataKeyEntity)
        .find({ where: { tenant: tag }, order: { createdAt: 'ASC' } }),
    );
    return rows.map(fromRow);
  }

  async findTenantKey(id: string): Promise<StoredDataKey | null> {
    const row = await this.storage.run((dataSource) =>
      dataSource.getRepository(KmsDataKeyEntity).findOneBy({ id, tenant: Not(IsNull()) }),
    );
    return row ? fromRow(row) : null;
  }

  async listAllTenantKeys(): Promise<{ tag: string; key: StoredDataKey }[]> {
    const rows = await this.storage.run((dataSource) =>
      dataSource
        .getRepository(KmsDataKeyEntity)
        .find({ where: { tenant: Not(IsNull()) }, order: { createdAt: 'ASC' } }),
    );
    return rows.map((row) => ({ tag: row.tenant!, key: fromRow(row) }));
  }

  storeTenantKey(
    tag: string,
    next: StoredDataKey,
    expectedActiveId: string | null,
    underOwnMasterKey: boolean,
  ): Promise<boolean> {
    return this.storage.transaction(async (manager) => {
      await lockKeyringUnder(manager, underOwnMasterKey ? undefined : next.masterKeyFingerprint);
      const active = await manager.findOneBy(KmsDataKeyEntity, { tenant: tag, status: 'active' });
      if ((active?.id ?? null) !== expectedActiveId) return false;
      if (active) {
        await manager.update(
          KmsDataKeyEntity,
          { id: active.id, status: 'active' },
          { status: 'retired', retiredAt: next.createdAt },
        );
      }
      await manager.insert(KmsDataKeyEntity, toRow(next, tag));
      await manager.update(KmsKeyringEntity, { id: KEYRING_ID }, { updatedAt: next.createdAt });
      await this.notifications?.publish(manager, {
        topic: KEYRING_TOPICS.dataKeyRotated,
        keyId: next.id,
      });
      return true;
    });
  }

  rewrapTenantKey(
    key: StoredDataKey,
    to: { readonly wrappedKey: Buffer; readonly masterKeyFingerprint: string },
    underOwnMasterKey: boolean,
  ): Promise<boolean> {
    return this.storage.transaction(async (manager) => {
      await lockKeyringUnder(manager, underOwnMasterKey ? undefined : to.masterKeyFingerprint);
      const result = await manager.update(
        KmsDataKeyEntity,
        {
          id: key.id,
          tenant: Not(IsNull()),
          masterKeyFingerprint: key.masterKeyFingerprint,
          wrappedKey: key.wrappedKey.toString('base64'),
        },
        {
          wrappedKey: to.wrappedKey.toString('base64'),
          masterKeyFingerprint: to.masterKeyFingerprint,
        },
      );
      if (!result.affected) return false;
      await manager.delete(KmsMasterKeyWrapEntity, { keyId: key.id });
      return true;
    });
  }

  destroyTenantKeys(tag: string): Promise<string[]> {
    return this.storage.transaction(async (manager) => {
      await lockKeyring(manager);
      const rows = await manager.find(KmsDataKeyEntity, {
        select: { id: true },
        where: { tenant: tag },
      });
      const ids = rows.map((row) => row.id);
      if (ids.length === 0) return ids;
      await manager.delete(KmsMasterKeyWrapEntity, { keyId: In(ids) });
      await manager.delete(KmsDataKeyEntity, { tenant: tag });
      for (const keyId of ids) {
        await this.notifications?.publish(manager, {
          topic: KEYRING_TOPICS.dataKeyDestroyed,
          keyId,
        });
      }
      return ids;
    });
  }
}
