import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DecryptionFailedError } from '../errors/decryption-failed.error.js';
import { AES_256_GCM, gcmOpen, gcmSealWithIv } from './aes-256-gcm.js';
import { refusal } from './fixtures/crypto-refusal.js';

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

/** Every one-bit change of `buffer`, as fresh copies. */
function* bitFlips(buffer: Buffer): Generator<Buffer> {
  for (let bit = 0; bit < buffer.length * 8; bit++) {
    const copy = Buffer.from(buffer);
    copy[bit >> 3] ^= 1 << (bit & 7);
    yield copy;
  }
}

describe.runIf(vectorsPresent || CI)('Wycheproof AES-GCM vectors (aes_gcm_test.json)', () => {
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
