// Writes test/fixtures/golden/<version>.json: envelopes written by this version of nest-kms,
// with the wrapped keyring they need and a TEST-ONLY master key. Every later version must
// decrypt them (test/golden-corpus.e2e-spec.ts). Run once per release that changes formats:
//   npm run build:packages && node scripts/generate-golden-corpus.mjs
import { NestFactory } from '@nestjs/core';
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KmsModule, KmsService } from '@nest-kms/kms';

const { version } = JSON.parse(
  readFileSync(new URL('../libs/kms/package.json', import.meta.url), 'utf8'),
);
const dir = mkdtempSync(join(tmpdir(), 'nest-kms-golden-'));
const database = join(dir, 'golden.sqlite');
const masterKey = randomBytes(32).toString('base64');

const app = await NestFactory.createApplicationContext(
  KmsModule.forRoot({ masterKey, connection: { type: 'better-sqlite3', database } }),
  { logger: false },
);
const kms = app.get(KmsService);

const cases = [
  { name: 'empty string', plaintext: '' },
  { name: 'one byte', plaintext: 'x' },
  { name: 'multi-byte UTF-8', plaintext: 'Grüße, 世界 🔐 é' },
  { name: 'string AAD', plaintext: 'bound to a user', aad: 'user-123' },
  { name: 'map AAD', plaintext: '{"ssn":"123-45-6789"}', aad: { tenant: 'acme', field: 'ssn' } },
  {
    name: 'binary, all byte values',
    binary: Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
  },
  { name: '4 KiB', plaintext: 'k'.repeat(4096) },
];

const seal = async (item) => {
  const input = item.binary ?? item.plaintext;
  const options = item.aad === undefined ? {} : { aad: item.aad };
  const entry = {
    name: item.name,
    ...(item.binary
      ? { plaintextBase64: item.binary.toString('base64') }
      : { plaintext: item.plaintext }),
    ...(item.aad === undefined ? {} : { aad: item.aad }),
    envelope: await kms.encryptData(input, options),
    compact: await kms.encryptToString(input, options),
  };
  return entry;
};

const envelopes = [];
for (const item of cases) envelopes.push({ ...(await seal(item)), key: 'first (retired)' });
await kms.rotateDataKey('golden corpus');
for (const item of cases) envelopes.push({ ...(await seal(item)), key: 'second (active)' });
const status = kms.getStatus();
await app.close();

const db = new Database(database, { readonly: true });
const corpus = {
  comment:
    'Golden corpus: written by this version, decrypted by every later one. The master key is public and for tests only.',
  version,
  masterKey,
  masterKeyFingerprint: status.masterKeyFingerprint,
  keyring: db.prepare('SELECT * FROM kms_keyring').all(),
  dataKeys: db.prepare('SELECT * FROM kms_data_keys ORDER BY created_at').all(),
  envelopes,
};
db.close();
rmSync(dir, { recursive: true, force: true });

const out = new URL(`../test/fixtures/golden/v${version}.json`, import.meta.url);
writeFileSync(out, `${JSON.stringify(corpus, null, 2)}\n`);
console.log(
  `wrote ${out.pathname}: ${envelopes.length} envelopes, ${corpus.dataKeys.length} data keys`,
);
