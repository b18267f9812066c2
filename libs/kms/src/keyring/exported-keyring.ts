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
  if (
    typeof key?.id !== 'string' ||
    typeof key.wrappedKey !== 'string' ||
    !Number.isSafeInteger(key.createdAt)
  ) {
    throw new InvalidExportError('a data key entry is malformed');
  }
  return {
    id: key.id,
    wrappedKey: Buffer.from(key.wrappedKey, 'base64'),
    status: key.status === 'active' ? 'active' : 'retired',
    masterKeyFingerprint: key.masterKeyFingerprint,
    createdAt: key.createdAt,
    retiredAt: key.retiredAt ?? null,
  };
}
