import Database from 'better-sqlite3';
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import type { AadInput, EnvelopeV1 } from '@nest-kms/kms';
import { createTestDatabase, type TestDatabase } from './support/databases.js';
import { KmsFixture, newMasterKey, type KmsApp } from './support/kms-fixture.js';

/*
 * Proves docs/envelope-format.md: an independent implementation written here from the document
 * alone, with node:crypto and nothing of the library's envelope, AAD or wrapping code, recovers
 * the data keys from the database with the master key and decrypts what the real KmsService
 * produced (and the other way round).
 */

/* ------------------------------------------------------------------------------------------ */
/* The independent implementation: docs/envelope-format.md, section by section.               */
/* ------------------------------------------------------------------------------------------ */

/** "Master-key fingerprint": "local:" + hex of the first 16 bytes of HMAC-SHA256(mk, label). */
function documentedFingerprint(masterKey: Buffer): string {
  const mac = createHmac('sha256', masterKey).update('nest-kms fingerprint', 'utf8').digest();
  return `local:${mac.subarray(0, 16).toString('hex')}`;
}

/** "Data-key wrapping": HKDF-SHA256, empty salt, info label, 32 bytes; then AES-256-GCM. */
function documentedUnwrap(masterKey: Buffer, keyId: string, wrappedKeyColumn: string): Buffer {
  const wrapped = strictDecode(wrappedKeyColumn, 'base64');
  if (wrapped.length !== 61 || wrapped[0] !== 0x01) throw new Error('not a v1 wrapped key');
  const wrappingKey = Buffer.from(
    hkdfSync('sha256', masterKey, Buffer.alloc(0), 'nest-kms/v1/data-key-wrapping', 32),
  );
  const iv = wrapped.subarray(1, 13);
  const tag = wrapped.subarray(13, 29);
  const ciphertext = wrapped.subarray(29, 61);
  const decipher = createDecipheriv('aes-256-gcm', wrappingKey, iv, { authTagLength: 16 });
  decipher.setAuthTag(tag);
  decipher.setAAD(Buffer.from(`nest-kms/data-key/v1:${keyId}`, 'utf8'));
  return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
}

/** "Binary fields": only the canonical encoding is accepted. */
function strictDecode(text: string, encoding: 'base64' | 'base64url'): Buffer {
  const bytes = Buffer.from(text, encoding);
  if (bytes.toString(encoding) !== text) throw new Error(`not canonical ${encoding}`);
  return bytes;
}

interface DocumentedEnvelope {
  keyId: string;
  timestamp: number;
  iv: Buffer;
  tag: Buffer;
  ciphertext: Buffer;
  aad: Buffer | undefined;
}

/** "Object form": standard base64 with padding in iv, tag, ciphertext, aad. */
function fromObjectForm(envelope: EnvelopeV1): DocumentedEnvelope {
  if (envelope.v !== 1 || envelope.alg !== 'aes-256-gcm') throw new Error('not envelope v1');
  return {
    keyId: envelope.keyId,
    timestamp: envelope.timestamp,
    iv: strictDecode(envelope.iv, 'base64'),
    tag: strictDecode(envelope.tag, 'base64'),
    ciphertext: strictDecode(envelope.ciphertext, 'base64'),
    aad: envelope.aad === undefined ? undefined : strictDecode(envelope.aad, 'base64'),
  };
}

/** "Compact form": kms1.<keyId>.<timestamp>.<iv>.<tag>.<ciphertext>[.<aad>], base64url unpadded. */
function fromCompactForm(text: string): DocumentedEnvelope {
  const parts = text.split('.');
  if (parts[0] !== 'kms1' || (parts.length !== 6 && parts.length !== 7)) {
    throw new Error('not a compact v1 envelope');
  }
  const [, keyId, timestamp, iv, tag, ciphertext, aad] = parts;
  if (!/^(?:0|[1-9][0-9]*)$/.test(timestamp)) throw new Error('bad timestamp');
  return {
    keyId,
    timestamp: Number(timestamp),
    iv: strictDecode(iv, 'base64url'),
    tag: strictDecode(tag, 'base64url'),
    ciphertext: strictDecode(ciphertext, 'base64url'),
    aad: aad === undefined ? undefined : strictDecode(aad, 'base64url'),
  };
}

function u32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value);
  return out;
}

/** "GCM additional data": the header layout table, field by field. */
function documentedHeader(keyId: string, timestamp: number, aad: Buffer | undefined): Buffer {
  const time = Buffer.alloc(8);
  time.writeBigUInt64BE(BigInt(timestamp));
  return Buffer.concat([
    Buffer.from('nest-kms/envelope', 'ascii'),
    Buffer.of(1),
    Buffer.of('aes-256-gcm'.length),
    Buffer.from('aes-256-gcm', 'ascii'),
    Buffer.of(keyId.length),
    Buffer.from(keyId, 'ascii'),
    time,
    aad === undefined ? Buffer.of(0) : Buffer.concat([Buffer.of(1), u32(aad.length), aad]),
  ]);
}

/** "Canonical encoding of the caller's AAD". */
function documentedAad(aad: AadInput): Buffer {
  if (typeof aad === 'string') return Buffer.concat([Buffer.of(0x01), Buffer.from(aad, 'utf8')]);
  const lengthPrefixed = (text: string): Buffer => {
    const bytes = Buffer.from(text, 'utf8');
    return Buffer.concat([u32(bytes.length), bytes]);
  };
  // Sorted by UTF-16 code units: what Array.prototype.sort does with strings.
  const keys = Object.keys(aad).sort();
  return Buffer.concat([
    Buffer.of(0x02),
    ...keys.flatMap((key) => [lengthPrefixed(key), lengthPrefixed(aad[key])]),
  ]);
}

function documentedDecrypt(dataKey: Buffer, envelope: DocumentedEnvelope): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', dataKey, envelope.iv, { authTagLength: 16 });
  decipher.setAuthTag(envelope.tag);
  decipher.setAAD(documentedHeader(envelope.keyId, envelope.timestamp, envelope.aad));
  return Buffer.concat([decipher.update(envelope.ciphertext), decipher.final()]);
}

function documentedEncrypt(
  dataKey: Buffer,
  keyId: string,
  plaintext: Buffer,
  aad: AadInput | undefined,
): EnvelopeV1 {
  const iv = randomBytes(12);
  const timestamp = Date.now();
  const encodedAad = aad === undefined ? undefined : documentedAad(aad);
  const cipher = createCipheriv('aes-256-gcm', dataKey, iv, { authTagLength: 16 });
  cipher.setAAD(documentedHeader(keyId, timestamp, encodedAad));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return {
    v: 1,
    alg: 'aes-256-gcm',
    keyId,
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    ciphertext: ciphertext.toString('base64'),
    ...(encodedAad === undefined ? {} : { aad: encodedAad.toString('base64') }),
    timestamp,
  };
}

/** The compact form of an object-form envelope: each binary field re-encoded as base64url. */
function toDocumentedCompact(envelope: EnvelopeV1): string {
  const url = (base64: string): string => strictDecode(base64, 'base64').toString('base64url');
  const parts = [
    'kms1',
    envelope.keyId,
    String(envelope.timestamp),
    url(envelope.iv),
    url(envelope.tag),
    url(envelope.ciphertext),
  ];
  if (envelope.aad !== undefined) parts.push(url(envelope.aad));
  return parts.join('.');
}

/* ------------------------------------------------------------------------------------------ */

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
      const envelope = documentedEncrypt(dataKeyFromDatabase(keyId), keyId, payload, aad);
      const opened = await kmsApp.kms.decryptData(envelope, { ...options, as: 'buffer' });
      expect(opened.equals(payload)).toBe(true);
      const compactOpened = await kmsApp.kms.decryptData(toDocumentedCompact(envelope), {
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
