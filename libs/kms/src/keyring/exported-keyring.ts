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

export interface ExportedKeyring {
  masterKeyFingerprint: string;
  dataKeys: ExportedDataKey[];
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
