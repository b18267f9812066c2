import { gcmOpen, gcmSeal } from '../crypto/aes-256-gcm.js';
import { envelopeHeaderAad } from './envelope-header.js';
import type { EnvelopePurpose, ParsedEnvelope } from './envelope.interface.js';

/**
 * Encrypts `plaintext` under a data key into envelope parts; the header, the purpose
 * (undefined for the public format v1) and the AAD are authenticated.
 */
export function sealEnvelope(
  dataKey: Buffer,
  keyId: string,
  plaintext: Buffer,
  aad: Buffer | undefined,
  timestamp: number,
  purpose: EnvelopePurpose | undefined,
): ParsedEnvelope {
  const { iv, ciphertext, tag } = gcmSeal(
    dataKey,
    plaintext,
    envelopeHeaderAad(keyId, timestamp, aad, purpose),
  );
  return { purpose, keyId, timestamp, iv, tag, ciphertext, aad };
}

/** Decrypts validated envelope parts under their data key; throws DecryptionFailedError on any change. */
export function openEnvelope(dataKey: Buffer, envelope: ParsedEnvelope): Buffer {
  return gcmOpen(
    dataKey,
    envelope.iv,
    envelope.ciphertext,
    envelope.tag,
    envelopeHeaderAad(envelope.keyId, envelope.timestamp, envelope.aad, envelope.purpose),
  );
}
