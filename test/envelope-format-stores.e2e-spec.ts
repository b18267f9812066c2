import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { DataSource } from 'typeorm';
import {
  documentedAad,
  documentedDecrypt,
  documentedFingerprint,
  documentedHeader,
  documentedSeal,
  documentedUnwrap,
  documentedWrappingKey,
  fromCompactForm,
  toCompactForm,
  toObjectForm,
} from './support/documented-envelopes.js';
import { ENGINES, createTestDatabase, type TestDatabase } from './support/databases.js';
import { newMasterKey } from './support/kms-fixture.js';
import { openKmsTables, sqlQuery } from './support/kms-tables.js';
import { UserProfile, startProfilesApp } from './support/profiles-fixture.js';
import { startSecretsApp } from './support/secrets-fixture.js';
import { SqlRecorder } from './support/sql-recorder.js';

/*
 * docs/envelope-format.md is the complete contract: with it and the master key alone, a reader
 * reproduces its worked examples and opens every value the nest-kms tables hold, secret versions
 * and encrypted columns, checking each one's purpose and binding. The reader is the independent
 * implementation in test/support/documented-envelopes.ts.
 */

const DOCUMENT = readFileSync(new URL('../docs/envelope-format.md', import.meta.url), 'utf8');
const hex = (text: string) => Buffer.from(text, 'hex');

describe('the worked examples of docs/envelope-format.md, section 9', () => {
  const masterKey = hex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
  const dataKey = hex('404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f');
  const keyId = 'dk-7d5e0f0a-4b1c-4c8e-9a51-2f6b8f1e3c2d';
  const iv = hex('b0b1b2b3b4b5b6b7b8b9babb');
  const timestamp = 1_764_288_000_000;
  const plaintext = Buffer.from('hello, world');

  /** Every value the example states must be in the document as printed. */
  const stated = (text: string) => expect(DOCUMENT).toContain(text);

  it('fingerprint, wrapping key and wrapped data key', () => {
    const fingerprint = documentedFingerprint(masterKey);
    stated(`\`${fingerprint}\``);
    stated(documentedWrappingKey(masterKey).toString('hex'));
    const column =
      'AaChoqOkpaanqKmqqx4LmUWdVkSHz6nejkttPNFrF8BPrv3mYPlp5kY3Yo1bWukoKDXFfYRINegM1tg1DQ==';
    stated(column);
    expect(documentedUnwrap(masterKey, keyId, column)).toEqual(dataKey);
  });

  it('format v1: the object and compact forms of section 9', () => {
    const sealed = documentedSeal(
      dataKey,
      { keyId, aad: { tenant: 'acme', field: 'ssn' } },
      plaintext,
      iv,
      timestamp,
    );
    stated(sealed.ciphertext.toString('hex'));
    stated(sealed.tag.toString('hex'));
    stated(documentedHeader(sealed).subarray(83).toString('hex'));
    const object = toObjectForm(sealed);
    for (const field of ['iv', 'tag', 'ciphertext', 'aad'] as const) stated(object[field]!);
    stated(toCompactForm(sealed));
  });

  it('format v2: the secret version of section 9.1, and it does not open relabelled as v1', () => {
    const sealed = documentedSeal(
      dataKey,
      { keyId, purpose: 'secret', aad: { secret: 'payments.api-key', version: '1' } },
      plaintext,
      iv,
      timestamp,
    );
    const header = documentedHeader(sealed);
    expect(header).toHaveLength(137);
    stated(header.subarray(90).toString('hex'));
    stated(sealed.tag.toString('hex'));
    const compact = toCompactForm(sealed);
    stated(compact);
    expect(documentedDecrypt(dataKey, fromCompactForm(compact), 'secret')).toEqual(plaintext);
    const relabelled = fromCompactForm(compact.replace('kms2.secret.', 'kms1.'));
    expect(() => documentedDecrypt(dataKey, relabelled)).toThrow();
  });
});

describe.each(ENGINES)(
  'every value of the nest-kms tables, opened from the document (%s)',
  (engine) => {
    let db: TestDatabase;
    let masterKeyText: string;
    let tables: DataSource | undefined;

    beforeEach(async () => {
      db = await createTestDatabase(engine);
      masterKeyText = newMasterKey();
    });

    afterEach(async () => {
      await tables?.destroy();
      tables = undefined;
      await db.drop();
    });

    /** Every data key, recovered from kms_data_keys with the master key alone. */
    async function dataKeys(source = tables!): Promise<Map<string, Buffer>> {
      const masterKey = Buffer.from(masterKeyText, 'base64');
      const rows = await sqlQuery<{ id: string; wrapped_key: string }>(
        source,
        'SELECT id, wrapped_key FROM kms_data_keys',
      );
      return new Map(
        rows.map((row) => [row.id, documentedUnwrap(masterKey, row.id, row.wrapped_key)]),
      );
    }

    it('secret versions: kms2.secret envelopes bound to { secret, version }, current copied', async () => {
      const app = await startSecretsApp(db, { masterKey: masterKeyText });
      const values = {
        'payments.api-key': [`v1-${randomBytes(6).toString('hex')}`, 'second value 🔑'],
        'db/password': ['x'],
      };
      try {
        for (const [name, versions] of Object.entries(values)) {
          for (const value of versions) await app.secrets.setSecret(name, value);
        }
        await app.kms.rotateDataKey();
        await app.secrets.rotateSecret('db/password', 'after the data key rotated');
        values['db/password'].push('after the data key rotated');
      } finally {
        await app.close();
      }
      tables = await openKmsTables(db);
      const keys = await dataKeys();
      const versions = await sqlQuery<{
        secret_name: string;
        version: unknown;
        envelope: string;
        key_id: string;
      }>(tables, 'SELECT secret_name, version, envelope, key_id FROM kms_secret_versions');
      expect(versions).toHaveLength(4);
      for (const row of versions) {
        const envelope = fromCompactForm(row.envelope as string);
        expect(envelope.purpose).toBe('secret');
        expect(envelope.keyId).toBe(row.key_id);
        expect(envelope.aad).toEqual(
          documentedAad({ secret: row.secret_name, version: String(row.version) }),
        );
        const value = documentedDecrypt(keys.get(envelope.keyId)!, envelope, 'secret');
        const expected = values[row.secret_name as keyof typeof values][Number(row.version) - 1];
        expect(value.toString('utf8')).toBe(expected);
        // Opened as the public API's format, it is refused.
        expect(() => documentedDecrypt(keys.get(envelope.keyId)!, envelope)).toThrow();
      }
      const secrets = await sqlQuery(
        tables,
        'SELECT name, current_version, current_envelope, current_key_id FROM kms_secrets',
      );
      for (const secret of secrets) {
        const current = versions.find(
          (row) =>
            row.secret_name === secret.name &&
            Number(row.version) === Number(secret.current_version),
        )!;
        expect(secret.current_envelope).toBe(current.envelope);
        expect(secret.current_key_id).toBe(current.key_id);
      }
    });

    it('a secret version sealed from the document opens through SecretsService', async () => {
      let app = await startSecretsApp(db, { masterKey: masterKeyText });
      await app.secrets.setSecret('payments.api-key', 'placeholder');
      await app.close();
      tables = await openKmsTables(db);
      const [active] = await sqlQuery<{ id: string }>(
        tables,
        "SELECT id FROM kms_data_keys WHERE status = 'active'",
      );
      const keys = await dataKeys();
      const sealed = documentedSeal(
        keys.get(active.id)!,
        { keyId: active.id, purpose: 'secret', aad: { secret: 'payments.api-key', version: '1' } },
        Buffer.from('written by another implementation'),
      );
      for (const sql of [
        'UPDATE kms_secret_versions SET envelope = ? WHERE secret_name = ?',
        'UPDATE kms_secrets SET current_envelope = ? WHERE name = ?',
      ]) {
        await sqlQuery(tables!, sql, [toCompactForm(sealed), 'payments.api-key']);
      }
      app = await startSecretsApp(db, { masterKey: masterKeyText });
      try {
        expect(await app.secrets.getSecret('payments.api-key')).toBe(
          'written by another implementation',
        );
      } finally {
        await app.close();
      }
    });

    it('encrypted columns: kms2.column envelopes bound to table, column, row and aad()', async () => {
      const app = await startProfilesApp(db, masterKeyText, new SqlRecorder());
      try {
        const repository = app.dataSource.getRepository(UserProfile);
        const saved = await repository.save(
          repository.create({
            userId: 'user-7',
            ssn: '078-05-1120',
            bankAccount: { iban: 'DE89370400440532013000', bic: 'COBADEFFXXX' },
          }),
        );
        const id = saved.id;
        const [row] = await sqlQuery(
          app.dataSource,
          'SELECT ssn, "bankAccount" AS bank FROM test_user_profiles WHERE id = ?',
          [id],
        );
        const keys = await dataKeys(app.dataSource);
        const binding = { 'kms.table': 'test_user_profiles', 'kms.row': id };
        const ssn = fromCompactForm(row.ssn as string);
        expect(ssn.purpose).toBe('column');
        expect(ssn.aad).toEqual(
          documentedAad({ ...binding, 'kms.column': 'ssn', userId: 'user-7' }),
        );
        expect(documentedDecrypt(keys.get(ssn.keyId)!, ssn, 'column').toString()).toBe(
          '078-05-1120',
        );
        const bank = fromCompactForm(row.bank as string);
        expect(bank.aad).toEqual(documentedAad({ ...binding, 'kms.column': 'bankAccount' }));
        expect(
          JSON.parse(documentedDecrypt(keys.get(bank.keyId)!, bank, 'column').toString()),
        ).toEqual({
          iban: 'DE89370400440532013000',
          bic: 'COBADEFFXXX',
        });
      } finally {
        await app.close();
      }
    });
  },
);
