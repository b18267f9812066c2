import { randomBytes } from 'node:crypto';
import { DecryptionFailedError } from '../errors/decryption-failed.error.js';
import { gcmOpen, gcmSeal, gcmSealWithIv } from './aes-256-gcm.js';
import { refusal } from './fixtures/crypto-refusal.js';

describe('AES-256-GCM parameter checks', () => {
  const key = randomBytes(32);
  const aad = Buffer.from('header');
  const plaintext = Buffer.from('attack at dawn, bring the keys');
  const sealed = gcmSeal(key, plaintext, aad);

  it('a fresh seal opens to its plaintext (the control for the refusals below)', () => {
    expect(sealed.iv).toHaveLength(12);
    expect(sealed.tag).toHaveLength(16);
    expect(gcmOpen(key, sealed.iv, sealed.ciphertext, sealed.tag, aad).equals(plaintext)).toBe(
      true,
    );
  });

  it.each(Array.from({ length: 16 }, (_, n) => n))(
    'a truncated %i-byte prefix of the genuine tag is refused before use',
    (length) => {
      const error = refusal(() =>
        gcmOpen(key, sealed.iv, sealed.ciphertext, sealed.tag.subarray(0, length), aad),
      );
      expect(error.problem).toBe(`tag must be 16 bytes (got ${length})`);
    },
  );

  it.each([17, 32])('an overlong %i-byte tag (the genuine tag, extended) is refused', (length) => {
    const tag = Buffer.concat([sealed.tag, Buffer.alloc(length - 16)]);
    const error = refusal(() => gcmOpen(key, sealed.iv, sealed.ciphertext, tag, aad));
    expect(error.problem).toBe(`tag must be 16 bytes (got ${length})`);
  });

  it.each([0, 1, 16, 24, 31, 33, 64])('a %i-byte key is refused by seal and open', (length) => {
    const badKey = randomBytes(length);
    expect(refusal(() => gcmSeal(badKey, plaintext, aad)).problem).toBe(
      `key must be 32 bytes (got ${length})`,
    );
    expect(
      refusal(() => gcmOpen(badKey, sealed.iv, sealed.ciphertext, sealed.tag, aad)).problem,
    ).toBe(`key must be 32 bytes (got ${length})`);
  });

  it.each([0, 1, 8, 11, 13, 16, 128])('a %i-byte IV is refused by seal and open', (length) => {
    const iv = randomBytes(length);
    expect(refusal(() => gcmSealWithIv(key, iv, plaintext, aad)).problem).toBe(
      `iv must be 12 bytes (got ${length})`,
    );
    expect(refusal(() => gcmOpen(key, iv, sealed.ciphertext, sealed.tag, aad)).problem).toBe(
      `iv must be 12 bytes (got ${length})`,
    );
  });

  it('a decryption failure throws DecryptionFailedError and never returns plaintext', () => {
    const ciphertext = Buffer.from(sealed.ciphertext);
    ciphertext[0] ^= 0x80;
    let returned: Buffer | undefined;
    let thrown: unknown;
    try {
      returned = gcmOpen(key, sealed.iv, ciphertext, sealed.tag, aad);
    } catch (error) {
      thrown = error;
    }
    expect(returned).toBeUndefined();
    expect(thrown).toBeInstanceOf(DecryptionFailedError);
    expect((thrown as DecryptionFailedError).code).toBe('KMS_DECRYPTION_FAILED');
    expect((thrown as Error).message).toBe(
      'Decryption failed - authentication tag verification failed',
    );
    expect((thrown as Error).message).not.toContain(plaintext.toString('utf8').slice(0, 6));
  });

  it('opening under another key or another AAD fails with DecryptionFailedError', () => {
    expect(() => gcmOpen(randomBytes(32), sealed.iv, sealed.ciphertext, sealed.tag, aad)).toThrow(
      DecryptionFailedError,
    );
    expect(() =>
      gcmOpen(key, sealed.iv, sealed.ciphertext, sealed.tag, Buffer.from('Header')),
    ).toThrow(DecryptionFailedError);
  });

  it('gcmSeal draws a fresh IV for every call, across pool refills, and keeps earlier IVs', () => {
    const seals = Array.from({ length: 3000 }, () => gcmSeal(key, plaintext, aad));
    const hexes = seals.map((one) => one.iv.toString('hex'));
    expect(new Set(hexes).size).toBe(3000);
    // A refill must not overwrite IVs that envelopes already hold (they are slices of the pool).
    expect(seals.map((one) => one.iv.toString('hex'))).toEqual(hexes);
    for (const one of seals.slice(0, 3)) {
      expect(gcmOpen(key, one.iv, one.ciphertext, one.tag, aad)).toEqual(plaintext);
    }
  });
});
