import { randomBytes } from 'node:crypto';
import { DecryptionFailedError, type MasterKeyProvider } from '@nest-kms/kms';
import { caught } from './caught.js';

/** What each contract check needs: the provider under test, and optionally another master key of the same kind. */
export interface ProviderUnderTest {
  provider(): MasterKeyProvider;
  /** A second master key of the same provider: what it wrapped must not unwrap under the first. */
  other?(): MasterKeyProvider;
}

/**
 * The behaviour every MasterKeyProvider owes the keyring, as `it` blocks in the caller's
 * describe: round trip, the data key id authenticated, any change to the wrapped key refused
 * with DecryptionFailedError, the plain key nowhere in the wrapped form, a stable fingerprint.
 */
export function masterKeyProviderContract(subject: ProviderUnderTest): void {
  it('wraps and unwraps a data key; the wrapped form holds no byte run of the key', async () => {
    const provider = subject.provider();
    const dataKey = randomBytes(32);
    const wrapped = await provider.wrapDataKey(dataKey, 'dk-contract');
    expect(Buffer.isBuffer(wrapped)).toBe(true);
    for (let at = 0; at + 8 <= dataKey.length; at += 8) {
      expect(wrapped.includes(dataKey.subarray(at, at + 8))).toBe(false);
    }
    expect((await provider.unwrapDataKey(wrapped, 'dk-contract')).equals(dataKey)).toBe(true);
  });

  it('wraps the same key differently each time', async () => {
    const provider = subject.provider();
    const dataKey = randomBytes(32);
    const first = await provider.wrapDataKey(dataKey, 'dk-contract');
    const second = await provider.wrapDataKey(dataKey, 'dk-contract');
    expect(first.equals(second)).toBe(false);
  });

  it('refuses to unwrap under another data key id', async () => {
    const provider = subject.provider();
    const wrapped = await provider.wrapDataKey(randomBytes(32), 'dk-one');
    expect(await caught(() => provider.unwrapDataKey(wrapped, 'dk-two'))).toBeInstanceOf(
      DecryptionFailedError,
    );
  });

  it('refuses a wrapped key with any byte changed, cut short or extended', async () => {
    const provider = subject.provider();
    const wrapped = await provider.wrapDataKey(randomBytes(32), 'dk-contract');
    const positions = [0, 1, Math.floor(wrapped.length / 2), wrapped.length - 1];
    const variants: Buffer[] = positions.map((at) => {
      const changed = Buffer.from(wrapped);
      changed[at] ^= 0x01;
      return changed;
    });
    variants.push(wrapped.subarray(0, wrapped.length - 1), Buffer.concat([wrapped, Buffer.of(0)]));
    variants.push(Buffer.alloc(0));
    for (const variant of variants) {
      expect(await caught(() => provider.unwrapDataKey(variant, 'dk-contract'))).toBeInstanceOf(
        DecryptionFailedError,
      );
    }
  });

  const other = subject.other;
  if (other) {
    it('refuses what another master key wrapped', async () => {
      const wrapped = await other().wrapDataKey(randomBytes(32), 'dk-contract');
      expect(
        await caught(() => subject.provider().unwrapDataKey(wrapped, 'dk-contract')),
      ).toBeInstanceOf(DecryptionFailedError);
    });
  }

  it('names its master key with a stable fingerprint that starts with its provider name', async () => {
    const provider = subject.provider();
    const fingerprint = await provider.fingerprint();
    expect(fingerprint.startsWith(`${provider.name}:`)).toBe(true);
    expect(fingerprint.length).toBeLessThanOrEqual(128);
    expect(await provider.fingerprint()).toBe(fingerprint);
    if (subject.other) expect(await subject.other().fingerprint()).not.toBe(fingerprint);
  });
}
