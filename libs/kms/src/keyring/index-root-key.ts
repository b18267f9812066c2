import { randomBytes } from 'node:crypto';
import { AES_256_GCM } from '../crypto/aes-256-gcm.js';
import { MasterKeyMismatchError } from '../errors/master-key-mismatch.error.js';
import type { MasterKeys } from './master-keys.js';
import type { KeyringStore, StoredDataKey } from './keyring-store.interface.js';

/**
 * The id the blind-index root key is wrapped under. Data key ids have no colon, so no data key
 * row can take its wrapped form, nor it theirs.
 */
export const INDEX_ROOT_KEY_ID = 'nest-kms:index-root';

/** The wrapped root key as the row the master-key machinery (unwrap, re-wrap) handles. */
export function indexRootRow(wrappedKey: Buffer, masterKeyFingerprint: string): StoredDataKey {
  return {
    id: INDEX_ROOT_KEY_ID,
    wrappedKey,
    status: 'retired',
    masterKeyFingerprint,
    createdAt: 0,
    retiredAt: null,
  };
}

/**
 * The keyring's blind-index root key, in memory: made and stored on the first start that has
 * none (the first of racing processes wins; the others read its key), then unwrapped like a data
 * key. Blind-index keys derive from it, not from the master key, so they work under any
 * provider and stay the same when the master key changes.
 */
export async function loadIndexRootKey(
  masters: MasterKeys,
  store: KeyringStore,
  assertWritable: (operation: string) => void = () => undefined,
): Promise<Buffer> {
  let wrapped = await store.readIndexRootKey();
  if (wrapped === null) {
    assertWritable('making the index root key');
    const master = await masters.verifiedCurrent();
    const root = randomBytes(AES_256_GCM.keyBytes);
    try {
      const made = await master.provider.wrapDataKey(root, INDEX_ROOT_KEY_ID);
      if (await store.storeIndexRootKey(master.fingerprint, made)) return Buffer.from(root);
    } finally {
      root.fill(0);
    }
    wrapped = await store.readIndexRootKey();
    if (wrapped === null) throw new MasterKeyMismatchError('(none)', master.fingerprint);
  }
  return (await masters.unwrap(indexRootRow(wrapped, masters.current.fingerprint))).material;
}
