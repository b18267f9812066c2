import { randomBytes, randomUUID } from 'node:crypto';
import { AES_256_GCM } from '../crypto/aes-256-gcm.js';
import { KeyringIntegrityError } from '../errors/keyring-integrity.error.js';
import { DecryptionFailedError } from '../errors/decryption-failed.error.js';
import type { MasterKeyProvider } from '../master-key/master-key-provider.interface.js';
import type { StoredDataKey } from './keyring-store.interface.js';

/** What a data key id can be (envelopes refuse any other keyId; the column holds 64). */
const DATA_KEY_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** False for a value no stored data key can have as its id (it never reaches the database). */
export const isDataKeyId = (id: unknown): id is string =>
  typeof id === 'string' && DATA_KEY_ID.test(id);

/** A data key in memory: the only place its plain material exists. */
export interface DataKey {
  readonly id: string;
  readonly material: Buffer;
  status: 'active' | 'retired';
  readonly createdAt: number;
  /** Encryptions under this key that every replica had flushed, as last read from the store. */
  encryptions: number;
  /** Encryptions by this process not yet added to the store's count. */
  pendingEncryptions: number;
}

/** A fresh active data key: its plain material, and the form the store keeps (wrapped). */
export async function newDataKey(
  provider: MasterKeyProvider,
  masterKeyFingerprint: string,
  createdAt: number,
  id = `dk-${randomUUID()}`,
): Promise<{ stored: StoredDataKey; material: Buffer }> {
  const material = randomBytes(AES_256_GCM.keyBytes);
  const wrappedKey = await provider.wrapDataKey(material, id);
  return {
    material,
    stored: { id, wrappedKey, status: 'active', masterKeyFingerprint, createdAt, retiredAt: null },
  };
}

/** Unwraps a stored key; one that does not verify under `provider` is a KeyringIntegrityError. */
export async function unwrapDataKey(
  provider: MasterKeyProvider,
  row: StoredDataKey,
): Promise<DataKey> {
  let material: Buffer;
  try {
    material = await provider.unwrapDataKey(row.wrappedKey, row.id);
  } catch (error) {
    // A provider that did not answer is not a corrupt row: that error goes to the caller as is.
    if (error instanceof DecryptionFailedError) {
      throw new KeyringIntegrityError(
        row.id,
        'its wrapped key does not verify under the master key',
      );
    }
    throw error;
  }
  return heldDataKey(row, material);
}

/** A stored key and its plain material, as the keyring holds it (usage counts from zero). */
export function heldDataKey(row: StoredDataKey, material: Buffer): DataKey {
  return {
    id: row.id,
    material,
    status: row.status,
    createdAt: row.createdAt,
    encryptions: 0,
    pendingEncryptions: 0,
  };
}

/**
 * Whether `provider` unwraps `wrappedKey` (bound to `keyId`) to exactly `expected`: false for a
 * wrap that does not verify under it, the provider's other errors thrown as they are. How a
 * master key known only by name proves it is the key that wrapped the keyring.
 */
export async function unwrapsTo(
  provider: MasterKeyProvider,
  wrappedKey: Buffer,
  keyId: string,
  expected: Buffer,
): Promise<boolean> {
  let material: Buffer;
  try {
    material = await provider.unwrapDataKey(wrappedKey, keyId);
  } catch (error) {
    if (error instanceof DecryptionFailedError) return false;
    throw error;
  }
  const same = material.equals(expected);
  material.fill(0);
  return same;
}
