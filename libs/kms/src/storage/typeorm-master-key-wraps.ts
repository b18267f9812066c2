import { KmsDataKeyEntity } from '../entities/kms-data-key.entity.js';
import { KEYRING_ID, KmsKeyringEntity } from '../entities/kms-keyring.entity.js';
import { KmsMasterKeyWrapEntity } from '../entities/kms-master-key-wrap.entity.js';
import { KeyringIntegrityError } from '../errors/keyring-integrity.error.js';
import { MasterKeyMismatchError } from '../errors/master-key-mismatch.error.js';
import { quotedInput } from '../errors/quoted-input.js';
import { INDEX_ROOT_KEY_ID } from '../keyring/index-root-key.js';
import type { AdditionalWrap } from '../keyring/keyring-store.interface.js';
import type { KmsNotifications } from '../notifications/kms-notifications.js';
import { underKeyringMasterKey } from './data-key-rows.js';
import type { KmsStorage } from './kms-storage.js';
import { KEYRING_TOPICS, lockKeyring } from './keyring-lock.js';

/**
 * The keyring's wraps under its additional master keys (kms_master_key_wraps), for
 * TypeOrmKeyringStore: every change takes the keyring lock, as the store's own changes do.
 */
export class TypeOrmMasterKeyWraps {
  constructor(
    private readonly storage: KmsStorage,
    private readonly notifications?: KmsNotifications,
  ) {}

  async listMasterKeys(): Promise<string[]> {
    const rows = await this.storage.queryRows(
      'SELECT DISTINCT master_key_fingerprint FROM kms_master_key_wraps ORDER BY master_key_fingerprint',
      [],
    );
    return rows.map((row) => String(row.master_key_fingerprint));
  }

  async find(keyId: string): Promise<AdditionalWrap[]> {
    const rows = await this.storage.run((dataSource) =>
      dataSource.getRepository(KmsMasterKeyWrapEntity).findBy({ keyId }),
    );
    return rows.map(fromWrapRow);
  }

  async insert(wraps: readonly AdditionalWrap[]): Promise<void> {
    if (wraps.length === 0) return;
    await this.storage.transaction(async (manager) => {
      const keyringFingerprint = await lockKeyring(manager);
      const now = Date.now();
      for (const wrap of wraps) {
        // A data key destroyed since it was wrapped leaves no wrap behind; nor does a tenant's
        // key that its own master key took over meanwhile (only that key may open it).
        const stillWrappable = underKeyringMasterKey(keyringFingerprint ?? '').map((where) => ({
          ...where,
          id: wrap.keyId,
        }));
        if (
          wrap.keyId !== INDEX_ROOT_KEY_ID &&
          !(await manager.existsBy(KmsDataKeyEntity, stillWrappable))
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

  async keysWithout(fingerprint: string): Promise<string[]> {
    const rows = await this.storage.queryRows(
      // Keys a tenant's own master key wraps get no additional wraps (see underKeyringMasterKey).
      `SELECT id FROM kms_data_keys d WHERE NOT EXISTS (
         SELECT 1 FROM kms_master_key_wraps w WHERE w.key_id = d.id AND w.master_key_fingerprint = ?)
         AND (d.tenant IS NULL OR d.master_key_fingerprint =
           (SELECT master_key_fingerprint FROM kms_keyring WHERE id = ?))
       UNION ALL
       SELECT ? AS id FROM kms_keyring k WHERE k.index_root_key IS NOT NULL AND NOT EXISTS (
         SELECT 1 FROM kms_master_key_wraps w WHERE w.key_id = ? AND w.master_key_fingerprint = ?)`,
      [fingerprint, KEYRING_ID, INDEX_ROOT_KEY_ID, INDEX_ROOT_KEY_ID, fingerprint],
    );
    return rows.map((row) => String(row.id));
  }

  deleteUnder(fingerprint: string): Promise<number> {
    return this.storage.transaction(async (manager) => {
      await lockKeyring(manager);
      const result = await manager.delete(KmsMasterKeyWrapEntity, {
        masterKeyFingerprint: fingerprint,
      });
      return result.affected ?? 0;
    });
  }

  promote(from: string, to: string): Promise<number | null> {
    return this.storage.transaction(async (manager) => {
      const fingerprint = await lockKeyring(manager);
      if (fingerprint === to) return null;
      if (fingerprint !== from) throw new MasterKeyMismatchError(fingerprint ?? '(none)', from);
      const keyring = await manager.findOneByOrFail(KmsKeyringEntity, { id: KEYRING_ID });
      const wraps = new Map(
        (await manager.findBy(KmsMasterKeyWrapEntity, { masterKeyFingerprint: to })).map((wrap) => [
          wrap.keyId,
          wrap.wrappedKey,
        ]),
      );
      const rows = await manager.find(KmsDataKeyEntity, {
        where: underKeyringMasterKey(from),
        order: { createdAt: 'ASC' },
      });
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
}

function fromWrapRow(row: KmsMasterKeyWrapEntity): AdditionalWrap {
  return {
    keyId: row.keyId,
    masterKeyFingerprint: row.masterKeyFingerprint,
    wrappedKey: Buffer.from(row.wrappedKey, 'base64'),
  };
}
