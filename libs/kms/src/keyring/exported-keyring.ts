import { decodeCanonical } from '../crypto/base64.js';
import { KEY_ID_PATTERN } from '../envelope/envelope.constants.js';
import { InvalidExportError } from '../errors/invalid-export.error.js';
import type { StoredDataKey } from './keyring-store.interface.js';

/** Data keys as an export carries them: wrapped by the master key, base64. */
export interface ExportedDataKey {
  id: string;
  wrappedKey: string;
  status: 'active' | 'retired';
  masterKeyFingerprint: string;
  createdAt: number;
  retiredAt: number | null;
}

/** A tenant's data key as an export carries it: wrapped, with the tenant's keyed tag (never its name). */
export interface ExportedTenantKey extends ExportedDataKey {
  /** The tenant's keyed tag, as its key id carries it. */
  tenant: string;
}

/**
 * Why an export's tenant key cannot be used here: another keyring tagged it, or this keyring
 * no longer stores it (its tenant was destroyed).
 */
export type TenantKeyUnusable = 'tenant-keys-of-another-keyring' | 'tenant-key-not-stored';

export interface ExportedKeyring {
  masterKeyFingerprint: string;
  dataKeys: ExportedDataKey[];
  /**
   * Tenants' data keys, when the keyring has any: wrapped under the keyring's master key, or a
   * tenant's own. importKeyring never adds them (see KmsService.importKeyring).
   */
  tenantKeys?: ExportedTenantKey[];
  /**
   * Names the key that tagged the tenants (a keyed hash of a fixed label): tenant keys are
   * usable only in a keyring with the same one, since their ids carry the tags.
   */
  tenantTagCheck?: string;
}

export function toExportedKey(key: StoredDataKey): ExportedDataKey {
  return { ...key, wrappedKey: key.wrappedKey.toString('base64') };
}

export function fromExportedKey(key: ExportedDataKey): StoredDataKey {
  const wrappedKey =
    typeof key?.wrappedKey === 'string' ? decodeCanonical(key.wrappedKey, 'base64') : undefined;
  if (
    typeof key?.id !== 'string' ||
    !KEY_ID_PATTERN.test(key.id) ||
    wrappedKey === undefined ||
    (key.status !== 'active' && key.status !== 'retired') ||
    typeof key.masterKeyFingerprint !== 'string' ||
    !Number.isSafeInteger(key.createdAt) ||
    (key.retiredAt !== null && !Number.isSafeInteger(key.retiredAt))
  ) {
    throw new InvalidExportError('a data key entry is malformed');
  }
  return {
    id: key.id,
    wrappedKey,
    status: key.status,
    masterKeyFingerprint: key.masterKeyFingerprint,
    createdAt: key.createdAt,
    retiredAt: key.retiredAt,
  };
}
