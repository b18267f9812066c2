import { deriveSubkey } from '../crypto/key-derivation.js';

/** Where KmsService keeps what sibling libraries reach through keyringSubkey(). */
export const KEYRING_SUBKEY = Symbol('nest-kms:keyring-subkey');

/** What a KmsService offers its sibling libraries: keys derived for one use each. */
export interface KeyringSubkeySource {
  [KEYRING_SUBKEY](label: string): Buffer;
}

/**
 * A 32-byte key for one use (`label`, e.g. `audit-chain`), derived from the keyring's index root
 * key: the same on every replica, unchanged by master-key rotations and moves between providers,
 * never stored. The caller owns the returned Buffer.
 */
export function keyringSubkey(kms: KeyringSubkeySource, label: string): Buffer {
  return kms[KEYRING_SUBKEY](label);
}

/** The subkey for `label` under `indexRoot`. */
export function subkeyOf(indexRoot: Buffer, label: string): Buffer {
  return deriveSubkey(indexRoot, `nest-kms/v2/subkey/${label}`);
}
