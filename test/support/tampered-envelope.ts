import type { EnvelopeV1 } from '@nest-kms/kms';

/** `envelope` with the first byte of its ciphertext flipped: what tampering in transit looks like. */
export function tampered(envelope: EnvelopeV1): EnvelopeV1 {
  const ciphertext = Buffer.from(envelope.ciphertext, 'base64');
  ciphertext[0] ^= 1;
  return { ...envelope, ciphertext: ciphertext.toString('base64') };
}
