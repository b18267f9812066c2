import { gcmOpen, gcmSeal } from '../crypto/aes-256-gcm.js';
import { envelopeHeaderAad } from './envelope-header.js';
export function sealEnvelope(dataKey, keyId, plaintext, aad, timestamp) {
  const { iv, ciphertext, tag } = gcmSeal(
    dataKey,
    plaintext,
    envelopeHeaderAad(keyId, timestamp, aad),
  );
  return { keyId, timestamp, iv, tag, ciphertext, aad };
}
export function openEnvelope(dataKey, envelope) {
  return gcmOpen(
    dataKey,
    envelope.iv,
    envelope.ciphertext,
    envelope.tag,
    envelopeHeaderAad(envelope.keyId, envelope.timestamp, envelope.aad),
  );
}
//# sourceMappingURL=envelope-cipher.js.map
