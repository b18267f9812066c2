import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DecryptionFailedError } from '../errors/decryption-failed.error.js';
import { UnsupportedCryptoParametersError } from '../errors/unsupported-crypto-parameters.error.js';
import { AES_256_GCM, gcmOpen, gcmSeal, gcmSealWithIv } from './aes-256-gcm.js';

/*
 * Project Wycheproof AES-GCM vectors through the project's own primitive. The vectors live in
 * `shared/vectors/` beside the project's root (never copied into the repository): this file is
 * libs/kms/src/crypto/, so the project root is four levels up and `shared/` one more.
 */
const VECTORS_PATH = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '../../../../..',
  'shared/vectors/aes_gcm_test.json',
);
const VECTORS_SHA256 = '985e5ecc172e181eaf49e89508b9470dcf478002eb7e8559c707eb42dc97dfe7';
const CI = process.env.CI === 'true';

interface WycheproofTest {
  tcId: number;
  comment: string;
  flags: string[];
  key: string;
  iv: string;
  aad: string;
  msg: string;
  ct: string;
  tag: string;
  result: 'valid' | 'invalid' | 'acceptable';
}

interface WycheproofGroup {
  keySize: number;
  ivSize: number;
  tagSize: number;
  tests: WycheproofTest[];
}

interface WycheproofFile {
  algorithm: string;
  numberOfTests: number;
  testGroups: WycheproofGroup[];
}

/** One vector with its group's sizes (bits) and its hex fields decoded. */
interface Vector {
  tcId: number;
  flags: string;
  result: WycheproofTest['result'];
  keySize: number;
  ivSize: number;
  tagSize: number;
  key: Buffer;
  iv: Buffer;
  aad: Buffer;
  msg: Buffer;
  ct: Buffer;
  tag: Buffer;
}

const vectorsPresent = existsSync(VECTORS_PATH);
const vectorsFile: Buffer | undefined = vectorsPresent ? readFileSync(VECTORS_PATH) : undefined;
if (!vectorsPresent && !CI) {
  // oxlint-disable-next-line no-console -- the notice is the point: a run without vectors must say so
  console.warn(
    `[nest-kms tests] NOTICE: ${VECTORS_PATH} is absent; the Wycheproof AES-GCM vector tests are not run (CI=true makes this a failure)`,
  );
}

const wycheproof: WycheproofFile | undefined =
  vectorsFile === undefined
    ? undefined
    : (JSON.parse(vectorsFile.toString('utf8')) as WycheproofFile);

const vectors: Vector[] = (wycheproof?.testGroups ?? []).flatMap((group) =>
  group.tests.map((t) => ({
    tcId: t.tcId,
    flags: t.flags.join(','),
    result: t.result,
    keySize: group.keySize,
    ivSize: group.ivSize,
    tagSize: group.tagSize,
    key: Buffer.from(t.key, 'hex'),
    iv: Buffer.from(t.iv, 'hex'),
    aad: Buffer.from(t.aad, 'hex'),
    msg: Buffer.from(t.msg, 'hex'),
    ct: Buffer.from(t.ct, 'hex'),
    tag: Buffer.from(t.tag, 'hex'),
  })),
);

const keyInProfile = (v: Vector): boolean => v.keySize === AES_256_GCM.keyBytes * 8;
const ivInProfile = (v: Vector): boolean => v.ivSize === AES_256_GCM.ivBytes * 8;
const tagInProfile = (v: Vector): boolean => v.tagSize === AES_256_GCM.tagBytes * 8;
const inProfile = (v: Vector): boolean => keyInProfile(v) && ivInProfile(v) && tagInProfile(v);

const validInProfile = vectors.filter((v) => inProfile(v) && v.result === 'valid');
const invalidInProfile = vectors.filter((v) => inProfile(v) && v.result === 'invalid');
const outOfProfile = vectors.filter((v) => !inProfile(v));

/** Runs `fn`, expecting the primitive's refusal; returns the error for further checks. */
function refusal(fn: () => unknown): UnsupportedCryptoParametersError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(UnsupportedCryptoParametersError);
    return error as UnsupportedCryptoParametersError;
  }
  throw new Error('expected UnsupportedCryptoParametersError, but the call succeeded');
}

/** Every one-bit change of `buffer`, as fresh copies. */
function* bitFlips(buffer: Buffer): Generator<Buffer> {
  for (let bit = 0; bit < buffer.length * 8; bit++) {
    const copy = Buffer.from(buffer);
    copy[bit >> 3] ^= 1 << (bit & 7);
    yield copy;
  }
}

if (vectorsPresent || CI) {
  describe('Wycheproof AES-GCM vectors (aes_gcm_test.json)', () => {
    it('the vectors file is present and is the pinned Wycheproof file', () => {
      expect(vectorsFile, `${VECTORS_PATH} is missing; CI=true requires it`).toBeDefined();
      expect(createHash('sha256').update(vectorsFile!).digest('hex')).toBe(VECTORS_SHA256);
      expect(wycheproof?.algorithm).toBe('AES-GCM');
      expect(vectors).toHaveLength(wycheproof!.numberOfTests);
      expect(vectors).toHaveLength(316);
    });

    it("the project's profile holds 66 vectors: 39 valid, 27 invalid", () => {
      expect(vectors.filter(inProfile)).toHaveLength(66);
      expect(validInProfile).toHaveLength(39);
      expect(invalidInProfile).toHaveLength(27);
      expect(outOfProfile).toHaveLength(316 - 66);
    });

    it('every vector carries fields of its group sizes', () => {
      for (const v of vectors) {
        expect([v.tcId, v.key.length * 8, v.iv.length * 8, v.tag.length * 8]).toEqual([
          v.tcId,
          v.keySize,
          v.ivSize,
          v.tagSize,
        ]);
      }
    });

    describe('valid vectors in the profile', () => {
      it.each(validInProfile)(
        'tcId $tcId ($flags): seals to exactly ct and tag, opens to msg',
        (v) => {
          const sealed = gcmSealWithIv(v.key, v.iv, v.msg, v.aad);
          expect(sealed.ciphertext.toString('hex')).toBe(v.ct.toString('hex'));
          expect(sealed.tag.toString('hex')).toBe(v.tag.toString('hex'));
          expect(sealed.iv.equals(v.iv)).toBe(true);
          expect(gcmOpen(v.key, v.iv, v.ct, v.tag, v.aad).toString('hex')).toBe(
            v.msg.toString('hex'),
          );
        },
      );

      it.each(validInProfile)(
        'tcId $tcId: every one-bit change of iv, aad, ciphertext or tag fails with DecryptionFailedError',
        (v) => {
          let refused = 0;
          let changes = 0;
          const attempt = (fn: () => Buffer): void => {
            changes++;
            try {
              fn();
            } catch (error) {
              if (error instanceof DecryptionFailedError) refused++;
            }
          };
          for (const iv of bitFlips(v.iv)) attempt(() => gcmOpen(v.key, iv, v.ct, v.tag, v.aad));
          for (const aad of bitFlips(v.aad)) attempt(() => gcmOpen(v.key, v.iv, v.ct, v.tag, aad));
          for (const ct of bitFlips(v.ct)) attempt(() => gcmOpen(v.key, v.iv, ct, v.tag, v.aad));
          for (const tag of bitFlips(v.tag)) attempt(() => gcmOpen(v.key, v.iv, v.ct, tag, v.aad));
          // An extra AAD byte or ciphertext byte is a change too, also where the field is empty.
          attempt(() => gcmOpen(v.key, v.iv, v.ct, v.tag, Buffer.concat([v.aad, Buffer.of(0)])));
          attempt(() => gcmOpen(v.key, v.iv, Buffer.concat([v.ct, Buffer.of(0)]), v.tag, v.aad));
          expect(changes).toBe((12 + 16 + v.aad.length + v.ct.length) * 8 + 2);
          expect(refused).toBe(changes);
        },
      );
    });

    describe('invalid vectors in the profile (a valid encryption with a modified tag)', () => {
      it.each(invalidInProfile)(
        'tcId $tcId ($flags): open fails with DecryptionFailedError; sealing msg gives another ct||tag',
        (v) => {
          expect(() => gcmOpen(v.key, v.iv, v.ct, v.tag, v.aad)).toThrow(DecryptionFailedError);
          const honest = gcmSealWithIv(v.key, v.iv, v.msg, v.aad);
          const honestOutput = Buffer.concat([honest.ciphertext, honest.tag]).toString('hex');
          expect(honestOutput).not.toBe(Buffer.concat([v.ct, v.tag]).toString('hex'));
        },
      );
    });

    describe('vectors outside the profile are refused with UnsupportedCryptoParametersError', () => {
      it.each(outOfProfile)(
        'tcId $tcId ($keySize-bit key, $ivSize-bit IV, $tagSize-bit tag, $result)',
        (v) => {
          // The first size check that fails names its parameter: key, then iv, then tag.
          const culprit = !keyInProfile(v) ? 'key' : !ivInProfile(v) ? 'iv' : 'tag';
          const opened = refusal(() => gcmOpen(v.key, v.iv, v.ct, v.tag, v.aad));
          expect(opened.problem.startsWith(`${culprit} must be `)).toBe(true);
          if (culprit !== 'tag') {
            const sealed = refusal(() => gcmSealWithIv(v.key, v.iv, v.msg, v.aad));
            expect(sealed.problem.startsWith(`${culprit} must be `)).toBe(true);
          }
        },
      );
    });
  });
}

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
    const sealed = Array.from({ length: 3000 }, () => gcmSeal(key, plaintext, aad));
    const hexes = sealed.map((one) => one.iv.toString('hex'));
    expect(new Set(hexes).size).toBe(3000);
    // A refill must not overwrite IVs that envelopes already hold (they are slices of the pool).
    expect(sealed.map((one) => one.iv.toString('hex'))).toEqual(hexes);
    for (const one of sealed.slice(0, 3)) {
      expect(gcmOpen(key, one.iv, one.ciphertext, one.tag, aad)).toEqual(plaintext);
    }
  });
});
