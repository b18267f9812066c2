import { IsNull, Not, type FindOptionsWhere } from 'typeorm';
import type { KmsDataKeyEntity } from '../entities/kms-data-key.entity.js';
import type { StoredDataKey } from '../keyring/keyring-store.interface.js';
import { assertKeyOwner } from '../keyring/tenant-ids.js';

/** A stored key as its row (a tenant's key with its tenant tag). */
export function toRow(key: StoredDataKey, tenant: string | null = null): KmsDataKeyEntity {
  return {
    id: key.id,
    wrappedKey: key.wrappedKey.toString('base64'),
    status: key.status,
    masterKeyFingerprint: key.masterKeyFingerprint,
    createdAt: key.createdAt,
    retiredAt: key.retiredAt,
    tenant,
  };
}

/**
 * A row as the keyring's stored key (wrapped, never plain), refused unless its `tenant` column is
 * the tenant its id names (none for the keyring's own keys).
 */
export function fromRow(row: KmsDataKeyEntity): StoredDataKey {
  assertKeyOwner(row.id, row.tenant ?? null);
  return {
    id: row.id,
    wrappedKey: Buffer.from(row.wrappedKey, 'base64'),
    status: row.status,
    masterKeyFingerprint: row.masterKeyFingerprint,
    createdAt: row.createdAt,
    retiredAt: row.retiredAt,
  };
}

/**
 * The rows a change of the keyring's master key moves: the keyring's own keys and the tenants'
 * keys under that master key, not those a tenant's own master key wraps (bring your own key),
 * which only that key opens.
 */
export function underKeyringMasterKey(fingerprint: string): FindOptionsWhere<KmsDataKeyEntity>[] {
  return [{ tenant: IsNull() }, { tenant: Not(IsNull()), masterKeyFingerprint: fingerprint }];
}
