import {
  AadMismatchError,
  DataKeyNotFoundError,
  DataKeyNotInMemoryError,
  DecryptionFailedError,
  MalformedEnvelopeError,
} from '@nest-kms/kms';
import { ENGINES } from './support/databases.js';
import { kmsAppsPerTest, newMasterKey } from './support/kms-fixture.js';
import { tampered } from './support/tampered-envelope.js';

/*
 * decryptDataSync: decryptData for keys in memory, on one implementation with it (the same
 * checks, errors and reports), and a typed error where decryptData would load a key first.
 */
describe.each(ENGINES)('KmsService.decryptDataSync on %s', (engine) => {
  const masterKey = newMasterKey();
  const apps = kmsAppsPerTest(engine);

  it('opens what decryptData opens, in both forms, with and without AAD', async () => {
    const { kms } = await apps.start(masterKey);
    for (const aad of [undefined, 'user-1', { tenant: 'acme', field: 'ssn' }]) {
      const options = aad === undefined ? {} : { aad };
      const object = await kms.encryptData('plain text', options);
      const compact = await kms.encryptToString(Buffer.from([0, 255]), options);
      expect(kms.decryptDataSync(object, options)).toBe('plain text');
      expect(kms.decryptDataSync(compact, { ...options, as: 'buffer' })).toEqual(
        Buffer.from([0, 255]),
      );
    }
  });

  it("throws decryptData's errors, and reports a failed decryption like it", async () => {
    const { kms } = await apps.start(masterKey);
    const envelope = await kms.encryptData('x', { aad: 'right' });
    const failures = kms.getStatus().decryptionFailures;
    expect(() => kms.decryptDataSync(tampered(envelope), { aad: 'right' })).toThrow(
      DecryptionFailedError,
    );
    expect(() => kms.decryptDataSync(envelope, { aad: 'wrong' })).toThrow(AadMismatchError);
    expect(() => kms.decryptDataSync({ ...envelope, v: 2 } as never)).toThrow(
      MalformedEnvelopeError,
    );
    expect(kms.getStatus().decryptionFailures).toBe(failures + 3);
  });

  it('refuses a key it has not loaded with DataKeyNotInMemoryError, not as a failed decryption', async () => {
    const { kms } = await apps.start(masterKey);
    const envelope = await kms.encryptData('x');
    const elsewhere = { ...envelope, keyId: 'key-of-another-keyring' };
    const failures = kms.getStatus().decryptionFailures;
    expect(() => kms.decryptDataSync(elsewhere)).toThrow(DataKeyNotInMemoryError);
    expect(kms.getStatus().decryptionFailures).toBe(failures);
    await expect(kms.decryptData(elsewhere)).rejects.toBeInstanceOf(DataKeyNotFoundError);
  });

  it("opens another app's new key once decryptData has loaded it", async () => {
    const first = await apps.start(masterKey);
    const second = await apps.start(masterKey);
    await second.kms.rotateDataKey();
    const envelope = await second.kms.encryptData('made elsewhere');
    await expect(first.kms.decryptData(envelope)).resolves.toBe('made elsewhere');
    expect(first.kms.decryptDataSync(envelope)).toBe('made elsewhere');
  });
});
