import { createHmac, hkdfSync } from 'node:crypto';

/**
 * Derives an independent 32-byte subkey for one purpose (HKDF-SHA256, empty salt, the label as
 * info), so the master key itself never keys two algorithms.
 */
export function deriveSubkey(masterKey: Buffer, label: string): Buffer {
  return Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), label, 32));
}

/** HMAC-SHA256(key, label) truncated to `bytes`, hex: a non-secret name for a secret key. */
export function keyFingerprint(key: Buffer, label: string, bytes = 16): string {
  return createHmac('sha256', key).update(label).digest().subarray(0, bytes).toString('hex');
}
