import { readdirSync, readFileSync } from 'node:fs';
import type { AadInput, EnvelopeV1 } from '@nest-kms/kms';
import { ENGINES, createTestDatabase, type TestDatabase } from './support/databases.js';
import { KmsFixture, type KmsApp } from './support/kms-fixture.js';
import { openKmsTables } from './support/kms-tables.js';
import type { DataSource } from 'typeorm';

interface GoldenEnvelope {
  name: string;
  key: string;
  plaintext?: string;
  plaintextBase64?: string;
  aad?: AadInput;
  envelope: EnvelopeV1;
  compact: string;
}

interface GoldenCorpus {
  version: string;
  masterKey: string;
  masterKeyFingerprint: string;
  keyring: Record<string, unknown>[];
  dataKeys: Record<string, unknown>[];
  envelopes: GoldenEnvelope[];
}

const folder = new URL('./fixtures/golden/', import.meta.url);
const corpora: GoldenCorpus[] = readdirSync(folder)
  .filter((file) => file.endsWith('.json'))
  .map((file) => JSON.parse(readFileSync(new URL(file, folder), 'utf8')) as GoldenCorpus);

it('has at least one golden corpus', () => {
  expect(corpora.length).toBeGreaterThan(0);
});

describe.each(ENGINES)('golden corpus on %s', (engine) => {
  describe.each(corpora.map((corpus) => [corpus.version, corpus] as const))(
    'written by %s',
    (_, corpus) => {
      let db: TestDatabase;
      let kms: KmsApp;

      beforeAll(async () => {
        db = await createTestDatabase(engine);
        const tables = await openKmsTables(db);
        // The rows exactly as that version stored them.
        await insertRows(tables, 'kms_keyring', corpus.keyring);
        await insertRows(tables, 'kms_data_keys', corpus.dataKeys);
        await tables.destroy();
        kms = await KmsFixture.start(db, corpus.masterKey);
      });

      afterAll(async () => {
        await kms?.close();
        await db?.drop();
      });

      it('opens the stored keyring under its master key', () => {
        expect(kms.kms.getStatus()).toMatchObject({
          masterKeyFingerprint: corpus.masterKeyFingerprint,
          dataKeysCount: corpus.dataKeys.length,
        });
      });

      it.each(corpus.envelopes.map((item) => [`${item.name}, ${item.key} key`, item] as const))(
        'decrypts %s, object and compact',
        async (_, item) => {
          const options = item.aad === undefined ? {} : { aad: item.aad };
          if (item.plaintextBase64 !== undefined) {
            const expected = Buffer.from(item.plaintextBase64, 'base64');
            expect(await kms.kms.decryptData(item.envelope, { ...options, as: 'buffer' })).toEqual(
              expected,
            );
            expect(await kms.kms.decryptData(item.compact, { ...options, as: 'buffer' })).toEqual(
              expected,
            );
          } else {
            expect(await kms.kms.decryptData(item.envelope, options)).toBe(item.plaintext);
            expect(await kms.kms.decryptData(item.compact, options)).toBe(item.plaintext);
          }
        },
      );
    },
  );
});

/** Inserts rows by their stored column names, with the engine's own placeholders. */
async function insertRows(
  dataSource: DataSource,
  table: string,
  rows: Record<string, unknown>[],
): Promise<void> {
  for (const row of rows) {
    const columns = Object.keys(row);
    const placeholders = columns.map((_, i) =>
      dataSource.options.type === 'postgres' ? `$${i + 1}` : '?',
    );
    await dataSource.query(
      `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${placeholders.join(', ')})`,
      Object.values(row),
    );
  }
}
