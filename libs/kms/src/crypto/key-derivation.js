import { createHmac, hkdfSync } from 'node:crypto';
export function deriveSubkey(masterKey, label) {
  return Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), label, 32));
}
export function keyFingerprint(key, label, bytes = 16) {
  return createHmac('sha256', key).update(label).digest().subarray(0, bytes).toString('hex');
}
//# sourceMappingURL=key-derivation.js.map
