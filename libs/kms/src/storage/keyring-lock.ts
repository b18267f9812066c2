import type { EntityManager } from 'typeorm';
import { KEYRING_ID, KmsKeyringEntity } from '../entities/kms-keyring.entity.js';
import { MasterKeyMismatchError } from '../errors/master-key-mismatch.error.js';

/** Topics the keyring publishes to the other replicas. */
export const KEYRING_TOPICS = {
  dataKeyRotated: 'data_key_rotated',
  dataKeyDestroyed: 'data_key_destroyed',
  masterKeyRotated: 'master_key_rotated',
} as const;

/**
 * Serialises keyring changes across processes: on Postgres a row lock on the keyring row, held
 * to commit. SQLite allows one writer per database file, so its transaction already does.
 * Returns the keyring's master key fingerprint as of the lock.
 */
export async function lockKeyring(manager: EntityManager): Promise<string | null> {
  const query = manager
    .createQueryBuilder(KmsKeyringEntity, 'keyring')
    .where('keyring.id = :id', { id: KEYRING_ID });
  if (manager.connection.options.type === 'postgres') query.setLock('pessimistic_write');
  const row = await query.getOne();
  return row?.masterKeyFingerprint ?? null;
}

/**
 * lockKeyring, only while `fingerprint` is still the keyring's master key (a key wrapped under
 * it must not land after another replica rotated it), else MasterKeyMismatchError. Without a
 * fingerprint (a key under a tenant's own master key), the lock alone.
 */
export async function lockKeyringUnder(
  manager: EntityManager,
  fingerprint: string | undefined,
): Promise<void> {
  const current = await lockKeyring(manager);
  if (fingerprint !== undefined && current !== fingerprint) {
    throw new MasterKeyMismatchError(current ?? '(none)', fingerprint);
  }
}
