import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { DecryptionFailedError } from '../errors/decryption-failed.error.js';
import { UnsupportedCryptoParametersError } from '../errors/unsupported-crypto-parameters.error.js';

/** The one AES-GCM profile nest-kms speaks: 256-bit key, 96-bit IV, 128-bit tag. */
export const AES_256_GCM = {
  name: 'aes-256-gcm',
  keyBytes: 32,
  ivBytes: 12,
  tagBytes: 16,
} as const;

export interface GcmSealed {
  iv: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

function needsLength(what: string, actual: number, expected: number): void {
  if (actual !== expected) {
    throw new UnsupportedCryptoParametersError(`${what} must be ${expected} bytes (got ${actual})`);
  }
}

/** IVs drawn per CSPRNG call: one randomBytes() costs about as much as a small seal. */
const IVS_PER_DRAW = 512;
let ivPool = Buffer.alloc(0);
let ivOffset = 0;

/**
 * A fresh 12-byte IV from the CSPRNG, taken from a pool drawn 512 IVs at a time (as Node does
 * for randomUUID). An exhausted pool is replaced, never refilled, so no IV is ever handed out
 * twice, even while earlier envelopes still reference their slice of it.
 */
function freshIv(): Buffer {
  if (ivOffset + AES_256_GCM.ivBytes > ivPool.length) {
    ivPool = randomBytes(AES_256_GCM.ivBytes * IVS_PER_DRAW);
    ivOffset = 0;
  }
  const iv = ivPool.subarray(ivOffset, ivOffset + AES_256_GCM.ivBytes);
  ivOffset += AES_256_GCM.ivBytes;
  return iv;
}

/** Encrypts under a fresh 12-byte IV from the CSPRNG. */
export function gcmSeal(key: Buffer, plaintext: Buffer, aad: Buffer): GcmSealed {
  return gcmSealWithIv(key, freshIv(), plaintext, aad);
}

/**
 * Encrypts under a caller-chosen IV. Internal: known-answer tests need it; nothing public
 * reaches it, because a repeated IV under one key breaks GCM.
 */
export function gcmSealWithIv(key: Buffer, iv: Buffer, plaintext: Buffer, aad: Buffer): GcmSealed {
  /* Precondition: the profile's key and IV sizes. */
  needsLength('key', key.length, AES_256_GCM.keyBytes);
  needsLength('iv', iv.length, AES_256_GCM.ivBytes);
  const cipher = createCipheriv(AES_256_GCM.name, key, iv, { authTagLength: AES_256_GCM.tagBytes });
  cipher.setAAD(aad);
  const head = cipher.update(plaintext);
  const tail = cipher.final();
  const ciphertext = tail.length === 0 ? head : Buffer.concat([head, tail]);
  return { iv, ciphertext, tag: cipher.getAuthTag() };
}

/**
 * Decrypts and verifies. The plaintext is returned only after `final()` has checked the tag;
 * on failure the partial output is zeroed and a DecryptionFailedError thrown.
 */
export function gcmOpen(
  key: Buffer,
  iv: Buffer,
  ciphertext: Buffer,
  tag: Buffer,
  aad: Buffer,
): Buffer {
  /* Precondition: the profile's sizes; Node 20 would otherwise accept a truncated tag. */
  needsLength('key', key.length, AES_256_GCM.keyBytes);
  needsLength('iv', iv.length, AES_256_GCM.ivBytes);
  needsLength('tag', tag.length, AES_256_GCM.tagBytes);
  const decipher = createDecipheriv(AES_256_GCM.name, key, iv, {
    authTagLength: AES_256_GCM.tagBytes,
  });
  decipher.setAuthTag(tag);
  decipher.setAAD(aad);
  const head = decipher.update(ciphertext);
  let tail: Buffer;
  try {
    tail = decipher.final();
  } catch {
    head.fill(0);
    throw new DecryptionFailedError();
  }
  return tail.length === 0 ? head : Buffer.concat([head, tail]);
}
