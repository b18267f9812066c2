import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import type { AadInput } from '@nest-kms/kms';
import { createTestDatabase, type TestDatabase } from './support/databases.js';
import {
  documentedAad,
  documentedDecrypt,
  documentedFingerprint,
  documentedSeal,
  documentedUnwrap,
  fromCompactForm,
  fromObjectForm,
  toCompactForm,
  toObjectForm,
  u32,
} from './support/documented-envelopes.js';
import { KmsFixture, newMasterKey, type KmsApp } from './support/kms-fixture.js';

/*
 * Proves docs/envelope-format.md: an independent implementation written from the document alone
 * (test/support/documented-envelopes.ts), with node:crypto and nothing of the library's envelope,
 * AAD or wrapping code, recovers the data keys from the database with the master key and
 * decrypts what the real KmsService produced (and the other way round). The stores' values and
 * the worked examples: envelope-format-stores.e2e-spec.ts.
 */

interface DataKeyRow {
  id: string;
  wrapped_key: string;
  status: string;
  master_key_fingerprint: string;
}

describe('docs/envelope-format.md, checked by an independent implementation (SQLite)', () => {
  let db: TestDatabase;
  let kmsApp: KmsApp;
  let masterKeyText: string;
  let masterKey: Buffer;
  let sqlite: Database.Database;

  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
    masterKeyText = newMasterKey();
    masterKey = Buffer.from(masterKeyText, 'base64');
    kmsApp = await KmsFixture.start(db, masterKeyText);
    const { connection } = db;
    if (connection.type !== 'better-sqlite3') throw new Error('expected a SQLite test database');
    sqlite = new Database(connection.database, { readonly: true, fileMustExist: true });
  });

  afterAll(async () => {
    sqlite?.close();
    await kmsApp?.close();
    await db?.drop();
  });

  /** The data key of `keyId`, recovered from its kms_data_keys row with the master key alone. */
  function dataKeyFromDatabase(keyId: string): Buffer {
    const row = sqlite
      .prepare(
        'SELECT id, wrapped_key, status, master_key_fingerprint FROM kms_data_keys WHERE id = ?',
      )
      .get(keyId) as DataKeyRow | undefined;
    if (row === undefined) throw new Error(`no kms_data_keys row for ${keyId}`);
    return documentedUnwrap(masterKey, row.id, row.wrapped_key);
  }

  const PLAINTEXT = 'IBAN DE89 3704 0044 0532 0130 00 — café 🔑';
  const MAP_AAD = { tenant: 'acme', field: 'iban', zürich: 'ü', Zeta: '' };
  const CASES: [string, AadInput | undefined][] = [
    ['with a string AAD', 'user-42'],
    ['with a map AAD', MAP_AAD],
    ['without AAD', undefined],
  ];

  it('computes the master-key fingerprint KmsService reports and the keyring row stores', () => {
    const fingerprint = documentedFingerprint(masterKey);
    expect(fingerprint).toMatch(/^local:[0-9a-f]{32}$/);
    expect(kmsApp.kms.getStatus().masterKeyFingerprint).toBe(fingerprint);
    const keyring = sqlite.prepare('SELECT master_key_fingerprint FROM kms_keyring').all() as {
      master_key_fingerprint: string;
    }[];
    expect(keyring).toEqual([{ master_key_fingerprint: fingerprint }]);
  });

  it('unwraps the active data key row: 61 bytes, 0x01 | iv | tag | ciphertext', () => {
    const activeKeyId = kmsApp.kms.getStatus().activeKeyId;
    const rows = sqlite
      .prepare(
        "SELECT id, wrapped_key, status, master_key_fingerprint FROM kms_data_keys WHERE status = 'active'",
      )
      .all() as DataKeyRow[];
    expect(rows.map((row) => row.id)).toEqual([activeKeyId]);
    const [row] = rows;
    expect(row.master_key_fingerprint).toBe(documentedFingerprint(masterKey));
    const wrapped = Buffer.from(row.wrapped_key, 'base64');
    expect(wrapped).toHaveLength(61);
    expect(wrapped[0]).toBe(0x01);
    expect(documentedUnwrap(masterKey, row.id, row.wrapped_key)).toHaveLength(32);
    // The key id is bound as AAD: the same wrapped bytes under another id do not unwrap.
    expect(() => documentedUnwrap(masterKey, `${row.id}x`, row.wrapped_key)).toThrow();
  });

  describe.each(CASES)('%s', (_name, aad) => {
    const options = aad === undefined ? {} : { aad };

    it('object form: decrypts, and the envelope carries the documented canonical AAD', async () => {
      const envelope = await kmsApp.kms.encryptData(PLAINTEXT, options);
      expect(Object.keys(envelope).sort()).toEqual(
        [
          'alg',
          'ciphertext',
          'iv',
          'keyId',
          'tag',
          'timestamp',
          'v',
          ...(aad ? ['aad'] : []),
        ].sort(),
      );
      const parsed = fromObjectForm(envelope);
      expect(parsed.iv).toHaveLength(12);
      expect(parsed.tag).toHaveLength(16);
      expect(parsed.aad).toEqual(aad === undefined ? undefined : documentedAad(aad));
      const plaintext = documentedDecrypt(dataKeyFromDatabase(envelope.keyId), parsed);
      expect(plaintext.toString('utf8')).toBe(PLAINTEXT);
    });

    it('compact form: decrypts the same way', async () => {
      const compact = await kmsApp.kms.encryptToString(PLAINTEXT, options);
      expect(compact.split('.')).toHaveLength(aad === undefined ? 6 : 7);
      expect(compact).not.toMatch(/[=+/]/);
      const parsed = fromCompactForm(compact);
      expect(parsed.aad).toEqual(aad === undefined ? undefined : documentedAad(aad));
      const plaintext = documentedDecrypt(dataKeyFromDatabase(parsed.keyId), parsed);
      expect(plaintext.toString('utf8')).toBe(PLAINTEXT);
    });

    it('the header binds every field: a changed timestamp, key id or AAD does not verify', async () => {
      const parsed = fromObjectForm(await kmsApp.kms.encryptData(PLAINTEXT, options));
      const dataKey = dataKeyFromDatabase(parsed.keyId);
      expect(() =>
        documentedDecrypt(dataKey, { ...parsed, timestamp: parsed.timestamp + 1 }),
      ).toThrow();
      expect(() => documentedDecrypt(dataKey, { ...parsed, keyId: `${parsed.keyId}x` })).toThrow();
      const otherAad = parsed.aad === undefined ? Buffer.of(0x01) : undefined;
      expect(() => documentedDecrypt(dataKey, { ...parsed, aad: otherAad })).toThrow();
    });

    it('an envelope built from the document decrypts in KmsService, AAD checked', async () => {
      const keyId = kmsApp.kms.getStatus().activeKeyId;
      if (keyId === null) throw new Error('no active key');
      const payload = randomBytes(300);
      const sealed = documentedSeal(dataKeyFromDatabase(keyId), { keyId, aad }, payload);
      const envelope = toObjectForm(sealed);
      const opened = await kmsApp.kms.decryptData(envelope, { ...options, as: 'buffer' });
      expect(opened.equals(payload)).toBe(true);
      const compactOpened = await kmsApp.kms.decryptData(toCompactForm(sealed), {
        ...options,
        as: 'buffer',
      });
      expect(compactOpened.equals(payload)).toBe(true);
    });
  });

  it('map AAD keys are sorted: insertion order does not change the envelope AAD', async () => {
    const one = await kmsApp.kms.encryptData('x', { aad: { b: '2', a: '1', é: '3', Z: '4' } });
    const two = await kmsApp.kms.encryptData('x', { aad: { Z: '4', é: '3', a: '1', b: '2' } });
    expect(one.aad).toBe(two.aad);
    expect(Buffer.from(one.aad ?? '', 'base64')).toEqual(
      Buffer.concat([
        Buffer.of(0x02),
        ...['Z', '4', 'a', '1', 'b', '2', 'é', '3'].flatMap((text) => {
          const bytes = Buffer.from(text, 'utf8');
          return [u32(bytes.length), bytes];
        }),
      ]),
    );
  });

  it('an empty plaintext: empty ciphertext field, compact form ends in "."', async () => {
    const envelope = await kmsApp.kms.encryptData(Buffer.alloc(0));
    expect(envelope.ciphertext).toBe('');
    expect(
      documentedDecrypt(dataKeyFromDatabase(envelope.keyId), fromObjectForm(envelope)),
    ).toEqual(Buffer.alloc(0));
    const compact = await kmsApp.kms.encryptToString(Buffer.alloc(0));
    expect(compact.endsWith('.')).toBe(true);
    expect(
      documentedDecrypt(dataKeyFromDatabase(envelope.keyId), fromCompactForm(compact)),
    ).toEqual(Buffer.alloc(0));
  });

  it('after a rotation, both the new and the retired key rows unwrap and decrypt', async () => {
    const before = await kmsApp.kms.encryptData(PLAINTEXT, { aad: 'before' });
    const { keyId: newKeyId } = await kmsApp.kms.rotateDataKey('envelope-format test');
    const after = await kmsApp.kms.encryptToString(PLAINTEXT, { aad: { phase: 'after' } });
    const afterParsed = fromCompactForm(after);
    expect(afterParsed.keyId).toBe(newKeyId);
    expect(before.keyId).not.toBe(newKeyId);
    const statuses = sqlite
      .prepare('SELECT id, status FROM kms_data_keys WHERE id IN (?, ?)')
      .all(before.keyId, newKeyId) as { id: string; status: string }[];
    expect(Object.fromEntries(statuses.map((row) => [row.id, row.status]))).toEqual({
      [before.keyId]: 'retired',
      [newKeyId]: 'active',
    });
    expect(
      documentedDecrypt(dataKeyFromDatabase(before.keyId), fromObjectForm(before)).toString(),
    ).toBe(PLAINTEXT);
    expect(documentedDecrypt(dataKeyFromDatabase(newKeyId), afterParsed).toString()).toBe(
      PLAINTEXT,
    );
  });
});
