import { Injectable, Module } from '@nestjs/common';
import { IsString } from 'class-validator';
import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import {
  EnvelopePurposeError,
  InvalidInputError,
  KmsError,
  type AadInput,
  type KmsService,
} from '@nest-kms/kms';
import { InjectSecret, SecretRef, SecretsModule } from '@nest-kms/secrets';
import { FromSecret } from '@nest-kms/config';
import { caught } from './support/caught.js';
import { CapturedLogger } from './support/captured-logger.js';
import { startConfigApp } from './support/config-fixture.js';
import { ENGINES, createTestDatabase, type TestDatabase } from './support/databases.js';
import { newMasterKey } from './support/kms-fixture.js';
import { openKmsTables, sqlQuery } from './support/kms-tables.js';
import { UserProfile, startProfilesApp, type ProfilesApp } from './support/profiles-fixture.js';
import { startSecretsApp, type SecretsApp } from './support/secrets-fixture.js';
import { SqlRecorder } from './support/sql-recorder.js';

/*
 * An envelope sealed through the public API (encryptData / encryptToString) must never open as a
 * secret value or an encrypted column value, whatever AAD its caller chose, and those never open
 * through decryptData. Each attack below is what someone who can write the database, but holds
 * no master key, does with an endpoint that encrypts caller-chosen AAD: mint an envelope bound
 * exactly as the store binds its values, and write it into the store's row.
 */

const MINTED = `attacker-chosen-${randomBytes(6).toString('hex')}`;

/** Every way a caller could spell a secret's binding: as v0.1 sealed it, and variations of it. */
const SECRET_MINTS: [string, (name: string, version: string) => AadInput][] = [
  ['the exact binding', (secret, version) => ({ secret, version })],
  ['the binding, keys in the other order', (secret, version) => ({ version, secret })],
  ['the binding plus an extra key', (secret, version) => ({ secret, version, kms: 'x' })],
  ['the binding as a string', (secret, version) => `secret=${secret};version=${version}`],
  [
    'the binding with a zero-width look-alike name',
    (secret, version) => ({ secret: `${secret}\u200b`, version }),
  ],
  ['the binding plus a unicode key', (secret, version) => ({ secret, version, ключ: '🔑' })],
  ['no AAD at all', () => ''],
];

/** Rewrites a secret's stored version (and current value) to `envelope`, as SQL would. */
async function storeSecretEnvelope(
  tables: DataSource,
  name: string,
  version: number,
  envelope: string,
): Promise<void> {
  const keyId = envelope.split('.').at(envelope.startsWith('kms2.') ? 2 : 1);
  await sqlQuery(
    tables,
    'UPDATE kms_secret_versions SET envelope = ?, key_id = ? WHERE secret_name = ? AND version = ?',
    [envelope, keyId, name, version],
  );
  await sqlQuery(
    tables,
    'UPDATE kms_secrets SET current_envelope = ?, current_key_id = ? WHERE name = ? AND current_version = ?',
    [envelope, keyId, name, version],
  );
}

async function storedSecretEnvelope(tables: DataSource, name: string): Promise<string> {
  const [row] = await sqlQuery(tables, 'SELECT current_envelope FROM kms_secrets WHERE name = ?', [
    name,
  ]);
  return row.current_envelope as string;
}

/** A value of format v1 for a store: what v0.1 wrote, and what the public API makes today. */
function publicEnvelope(kms: KmsService, value: string, aad: AadInput): Promise<string> {
  return kms.encryptToString(value, { aad });
}

/** The same envelope with its prefix relabelled to a store's purpose (no master key needed). */
function relabelled(v1: string, purpose: 'secret' | 'column'): string {
  return v1.replace(/^kms1\./, `kms2.${purpose}.`);
}

async function setLegacyRefused(tables: DataSource, purposes: string): Promise<void> {
  await sqlQuery(tables, 'UPDATE kms_keyring SET legacy_refused_purposes = ?', [purposes]);
}

async function legacyRefused(tables: DataSource): Promise<string> {
  const [row] = await sqlQuery(tables, 'SELECT legacy_refused_purposes FROM kms_keyring');
  return row.legacy_refused_purposes as string;
}

describe.each(ENGINES)('envelope purposes on %s', (engine) => {
  describe('secrets on a keyring created by this version', () => {
    let db: TestDatabase;
    let masterKey: string;
    let app: SecretsApp;
    let tables: DataSource;
    const names = ['payments.api-key', 'billing/webhook_secret.v2'];
    const genuine = new Map<string, string>();

    beforeAll(async () => {
      db = await createTestDatabase(engine);
      masterKey = newMasterKey();
      app = await startSecretsApp(db, { masterKey, kms: { reencryption: { auto: false } } });
      tables = await openKmsTables(db);
      for (const name of names) {
        const value = `genuine-${randomBytes(6).toString('hex')}`;
        genuine.set(name, value);
        await app.secrets.setSecret(name, value);
      }
    });

    afterAll(async () => {
      await tables?.destroy();
      await app?.close();
      await db?.drop();
    });

    async function currentVersion(name: string): Promise<number> {
      return (await app.secrets.listSecrets()).find((secret) => secret.name === name)!
        .currentVersion;
    }

    afterEach(async () => {
      // Every test tampers; put the genuine values back the way an operator would.
      for (const name of names) {
        await app.secrets.setSecret(name, genuine.get(name)!);
      }
    });

    it('stores values as kms2.secret envelopes, and the keyring refuses format v1 from the start', async () => {
      expect(await storedSecretEnvelope(tables, names[0])).toMatch(/^kms2\.secret\./);
      expect(await legacyRefused(tables)).toBe('column,secret');
      // Its data keys carry the refusal in their (authenticated) ids.
      expect(app.kms.getStatus().activeKeyId).toMatch(/^dk2-sc-/);
    });

    it('erasing the record in the database does not make a minted value acceptable', async () => {
      const name = names[0];
      const version = await currentVersion(name);
      await setLegacyRefused(tables, '');
      const restarted = await startSecretsApp(db, { masterKey });
      try {
        const minted = await publicEnvelope(restarted.kms, MINTED, {
          secret: name,
          version: String(version),
        });
        await storeSecretEnvelope(tables, name, version, minted);
        restarted.secrets.clearCache();
        expect(await caught(() => restarted.secrets.getSecret(name))).toMatchObject({
          code: 'KMS_LEGACY_ENVELOPE_REFUSED',
        });
      } finally {
        await restarted.close();
        await setLegacyRefused(tables, 'column,secret');
      }
    });

    for (const name of names) {
      it.each(SECRET_MINTS)(
        `a public-API envelope minted with %s is refused as "${name}", current and by version`,
        async (_, mint) => {
          const version = await currentVersion(name);
          const aad = mint(name, String(version));
          const minted =
            aad === ''
              ? await app.kms.encryptToString(MINTED)
              : await publicEnvelope(app.kms, MINTED, aad);
          await storeSecretEnvelope(tables, name, version, minted);
          app.secrets.clearCache();
          for (const read of [
            () => app.secrets.getSecret(name),
            () => app.secrets.getSecret(name, { version }),
          ]) {
            const error = await caught(read);
            expect(error).toBeInstanceOf(KmsError);
            // Format v1 is refused before any AAD is compared: the exact binding too.
            expect((error as KmsError).code).toBe('KMS_LEGACY_ENVELOPE_REFUSED');
            expect(error.message).not.toContain(MINTED);
          }
        },
      );
    }

    it('a number as the version cannot even be minted: AAD values are strings', async () => {
      const error = await caught(() =>
        app.kms.encryptToString(MINTED, {
          aad: { secret: names[0], version: 1 } as unknown as AadInput,
        }),
      );
      expect(error).toBeInstanceOf(InvalidInputError);
    });

    it('a minted envelope relabelled kms2.secret fails the tag, and the object form mints nothing else', async () => {
      const name = names[0];
      const version = await currentVersion(name);
      const binding = { secret: name, version: String(version) };
      const object = await app.kms.encryptData(MINTED, { aad: binding });
      const { toCompactEnvelope } = await import('@nest-kms/kms');
      for (const v1 of [
        await publicEnvelope(app.kms, MINTED, binding),
        toCompactEnvelope(object),
      ]) {
        await storeSecretEnvelope(tables, name, version, relabelled(v1, 'secret'));
        app.secrets.clearCache();
        const error = await caught(() => app.secrets.getSecret(name));
        expect((error as KmsError).code).toBe('KMS_DECRYPTION_FAILED');
      }
    });

    it('a stored secret value never opens through decryptData or rewrapEnvelope, with or without its AAD', async () => {
      const name = names[0];
      const stored = await storedSecretEnvelope(tables, name);
      const version = await currentVersion(name);
      for (const attempt of [
        () => app.kms.decryptData(stored),
        () => app.kms.decryptData(stored, { aad: { secret: name, version: String(version) } }),
        () => app.kms.rewrapEnvelope(stored),
      ]) {
        const error = await caught(attempt);
        expect(error).toBeInstanceOf(EnvelopePurposeError);
        expect(error).toMatchObject({ expected: undefined, actual: 'secret' });
      }
    });

    it('@InjectSecret and the config library refuse the minted value at start-up', async () => {
      const name = names[0];
      const version = await currentVersion(name);
      const minted = await publicEnvelope(app.kms, MINTED, {
        secret: name,
        version: String(version),
      });
      await storeSecretEnvelope(tables, name, version, minted);

      @Injectable()
      class PaymentsClient {
        apiKey: string | undefined;
        constructor(@InjectSecret(name) private readonly ref: SecretRef) {}
        async onModuleInit(): Promise<void> {
          this.apiKey = await this.ref.value();
        }
      }
      @Module({ imports: [SecretsModule.forFeature([name])], providers: [PaymentsClient] })
      class PaymentsModule {}
      const injected = await caught(() =>
        startSecretsApp(db, { masterKey, imports: [PaymentsModule] }),
      );
      expect((injected as KmsError).code).toBe('KMS_LEGACY_ENVELOPE_REFUSED');

      class PaymentsConfig {
        @FromSecret(name) @IsString() apiKey: string;
      }
      const configured = await caught(() =>
        startConfigApp(db, { masterKey, schema: PaymentsConfig }),
      );
      expect(configured.message).not.toContain(MINTED);
      expect(JSON.stringify(configured)).toMatch(/KMS_LEGACY_ENVELOPE_REFUSED/);
    });
  });

  describe('encrypted columns on a keyring created by this version', () => {
    let db: TestDatabase;
    let app: ProfilesApp;

    beforeEach(async () => {
      db = await createTestDatabase(engine);
      app = await startProfilesApp(db, newMasterKey(), new SqlRecorder(), {
        reencryption: { auto: false },
      });
    });

    afterEach(async () => {
      await app.close();
      await db.drop();
    });

    async function savedProfile(): Promise<UserProfile> {
      const repository = app.dataSource.getRepository(UserProfile);
      return repository.save(repository.create({ userId: 'user-1', ssn: 'genuine-ssn' }));
    }

    const columnMints = (row: string): [string, AadInput][] => [
      [
        'the documented binding',
        {
          'kms.table': 'test_user_profiles',
          'kms.column': 'ssn',
          'kms.row': row,
          userId: 'user-1',
        },
      ],
      [
        'the binding, keys in another order',
        {
          userId: 'user-1',
          'kms.row': row,
          'kms.column': 'ssn',
          'kms.table': 'test_user_profiles',
        },
      ],
      [
        'the binding without the application AAD',
        {
          'kms.table': 'test_user_profiles',
          'kms.column': 'ssn',
          'kms.row': row,
        },
      ],
    ];

    it('stores values as kms2.column envelopes', async () => {
      const profile = await savedProfile();
      const [row] = await sqlQuery(
        app.dataSource,
        'SELECT ssn FROM test_user_profiles WHERE id = ?',
        [profile.id],
      );
      expect(row.ssn).toMatch(/^kms2\.column\./);
    });

    it('a public-API envelope minted with the row binding does not load, nor relabelled', async () => {
      const profile = await savedProfile();
      const repository = app.dataSource.getRepository(UserProfile);
      for (const [, aad] of columnMints(profile.id)) {
        const minted = await publicEnvelope(app.kms, MINTED, aad);
        for (const [stored, reason] of [
          [minted, /^KMS_(LEGACY_ENVELOPE_REFUSED|AAD_MISMATCH)$/],
          [relabelled(minted, 'column'), /^KMS_DECRYPTION_FAILED$/],
        ] as const) {
          await sqlQuery(app.dataSource, 'UPDATE test_user_profiles SET ssn = ? WHERE id = ?', [
            stored,
            profile.id,
          ]);
          const error = await caught(() => repository.findOneByOrFail({ id: profile.id }));
          expect(error).toMatchObject({ code: 'KMS_COLUMN_DECRYPTION_FAILED' });
          expect((error as unknown as { reason: string }).reason).toMatch(reason);
          expect(error.message).not.toContain(MINTED);
        }
      }
    });

    it('a stored column value never opens through decryptData', async () => {
      const profile = await savedProfile();
      const [row] = await sqlQuery(
        app.dataSource,
        'SELECT ssn FROM test_user_profiles WHERE id = ?',
        [profile.id],
      );
      const error = await caught(() => app.kms.decryptData(row.ssn as string));
      expect(error).toBeInstanceOf(EnvelopePurposeError);
      expect(error).toMatchObject({ actual: 'column' });
    });
  });
});

/*
 * The upgrade from v0.1: its keyring records no purpose as refusing format v1 (the migration
 * adds the column empty), its stores hold v1 values. They open where they opened before, move to
 * v2 with re-encryption, and once none is left the store refuses v1 on every replica.
 */
describe.each(ENGINES)(
  'upgrading stores written before envelopes carried a purpose, on %s',
  (engine) => {
    let db: TestDatabase;
    let masterKey: string;
    let tables: DataSource;
    const apps: SecretsApp[] = [];

    async function start(legacyEnvelopes?: 'accept' | 'refuse'): Promise<SecretsApp> {
      const app = await startSecretsApp(db, {
        masterKey,
        kms: { reencryption: { auto: false, legacyEnvelopes } },
      });
      apps.push(app);
      return app;
    }

    /** Secrets as v0.1 stored them: v1 envelopes bound to name and version. */
    async function writtenByV01(app: SecretsApp, values: Record<string, string>): Promise<void> {
      for (const [name, value] of Object.entries(values)) {
        const { currentVersion } = await app.secrets.setSecret(name, 'placeholder');
        const v1 = await publicEnvelope(app.kms, value, {
          secret: name,
          version: String(currentVersion),
        });
        await storeSecretEnvelope(tables, name, currentVersion, v1);
      }
      app.secrets.clearCache();
    }

    beforeEach(async () => {
      db = await createTestDatabase(engine);
      masterKey = newMasterKey();
      // A keyring as 0.1 left it: no record, and an active key whose id marks nothing.
      const first = await start();
      tables = await openKmsTables(db);
      await setLegacyRefused(tables, '');
      await first.close();
      const upgraded = await start();
      await upgraded.kms.rotateDataKey();
      expect(upgraded.kms.getStatus().activeKeyId).toMatch(/^dk-/);
      await upgraded.close();
    });

    afterEach(async () => {
      for (const app of apps.splice(0)) await app.close();
      await tables.destroy();
      await db.drop();
    });

    it('v1 values open where they were written, move to v2 by re-encryption, and v1 is refused after', async () => {
      const app = await start();
      await writtenByV01(app, { 'old.a': 'value-a', 'old.b': 'value-b' });
      expect(await app.secrets.getSecret('old.a')).toBe('value-a');
      // Accepted only where it was before: copied onto another secret, it does not open.
      await storeSecretEnvelope(tables, 'old.b', 1, await storedSecretEnvelope(tables, 'old.a'));
      app.secrets.clearCache();
      expect(await caught(() => app.secrets.getSecret('old.b'))).toMatchObject({
        code: 'KMS_AAD_MISMATCH',
      });
      await storeSecretEnvelope(
        tables,
        'old.b',
        1,
        await publicEnvelope(app.kms, 'value-b', { secret: 'old.b', version: '1' }),
      );

      const since = CapturedLogger.everything.length;
      const result = await app.kms.reencrypt();
      expect(result).toMatchObject({ ran: true, failed: 0, remaining: 0 });
      // Each secret's version row and its current copy: 2 values, 4 rows.
      expect(result.moved).toBe(4);
      for (const name of ['old.a', 'old.b']) {
        expect(await storedSecretEnvelope(tables, name)).toMatch(/^kms2\.secret\./);
      }
      app.secrets.clearCache();
      expect(await app.secrets.getSecret('old.a')).toBe('value-a');
      expect(await app.secrets.getSecret('old.b', { version: 1 })).toBe('value-b');
      // No encrypted column is registered here: only the secrets store can be said to be done.
      expect(await legacyRefused(tables)).toBe('secret');
      // The keyring moved to a data key whose id marks the secrets store.
      expect(app.kms.getStatus().activeKeyId).toMatch(/^dk2-s-/);
      const { loggedEvents } = await import('./support/captured-logger.js');
      expect(loggedEvents('legacy_envelopes_refused', since)).toEqual([
        expect.objectContaining({ purposes: ['secret'] }),
      ]);

      // From now on a v1 value is a forgery, and re-encryption does not launder it into v2.
      const minted = await publicEnvelope(app.kms, MINTED, { secret: 'old.a', version: '1' });
      await storeSecretEnvelope(tables, 'old.a', 1, minted);
      app.secrets.clearCache();
      expect(await caught(() => app.secrets.getSecret('old.a'))).toMatchObject({
        code: 'KMS_LEGACY_ENVELOPE_REFUSED',
      });
      // The refusal rotated the data key: old.b's two rows move to it; the forgery stays as it is.
      expect(await app.kms.reencrypt()).toMatchObject({ moved: 2, failed: 0 });
      expect(await storedSecretEnvelope(tables, 'old.a')).toBe(minted);

      // A restart reads the record: still refused.
      await app.close();
      const restarted = await start();
      expect(await caught(() => restarted.secrets.getSecret('old.a'))).toMatchObject({
        code: 'KMS_LEGACY_ENVELOPE_REFUSED',
      });
      // Whoever erases the record mints under the marked active key: refused all the same.
      await restarted.close();
      await setLegacyRefused(tables, '');
      const erased = await start();
      const mintedAfter = await publicEnvelope(erased.kms, MINTED, {
        secret: 'old.a',
        version: '1',
      });
      await storeSecretEnvelope(tables, 'old.a', 1, mintedAfter);
      expect(await caught(() => erased.secrets.getSecret('old.a'))).toMatchObject({
        code: 'KMS_LEGACY_ENVELOPE_REFUSED',
      });
    });

    it("legacyEnvelopes: 'refuse' neither opens nor moves v1 values; 'accept' opens them after the record", async () => {
      const refusing = await start('refuse');
      await writtenByV01(refusing, { 'old.a': 'value-a' });
      expect(await caught(() => refusing.secrets.getSecret('old.a'))).toMatchObject({
        code: 'KMS_LEGACY_ENVELOPE_REFUSED',
      });
      expect(await refusing.kms.reencrypt()).toMatchObject({ moved: 0 });
      expect(await storedSecretEnvelope(tables, 'old.a')).toMatch(/^kms1\./);
      expect(await legacyRefused(tables)).toBe('');
      await refusing.close();

      await setLegacyRefused(tables, 'column,secret');
      const accepting = await start('accept');
      expect(await accepting.secrets.getSecret('old.a')).toBe('value-a');
    });

    it('a backup made before the upgrade restores into a keyring that refuses v1, its values sealed anew', async () => {
      const old = await start();
      await writtenByV01(old, { 'old.a': 'value-a', 'old.b': 'value-b' });
      await old.secrets.rotateSecret('old.b', 'value-b2');
      const { artifact } = await old.secrets.backupSecrets();
      const exported = JSON.stringify(artifact);
      await old.close();

      const target = await createTestDatabase(engine);
      const fresh = await startSecretsApp(target, { masterKey });
      try {
        await fresh.secrets.restoreSecrets(JSON.parse(exported));
        expect(await fresh.secrets.getSecret('old.a')).toBe('value-a');
        expect(await fresh.secrets.getSecret('old.b', { version: 1 })).toBe('value-b');
        expect(await fresh.secrets.getSecret('old.b')).toBe('value-b2');
        const targetTables = await openKmsTables(target);
        const rows = await sqlQuery(targetTables, 'SELECT envelope FROM kms_secret_versions');
        await targetTables.destroy();
        expect(rows).toHaveLength(3);
        for (const row of rows) expect(row.envelope).toMatch(/^kms2\.secret\./);
      } finally {
        await fresh.close();
        await target.drop();
      }
    });

    if (engine === 'postgres') {
      it('a replica stops accepting v1 when another one records that none is left', async () => {
        const a = await start();
        const b = await start();
        await writtenByV01(a, { 'old.a': 'value-a' });
        expect(await b.secrets.getSecret('old.a')).toBe('value-a');
        await a.kms.reencrypt();
        const minted = await publicEnvelope(a.kms, MINTED, { secret: 'old.a', version: '1' });
        await storeSecretEnvelope(tables, 'old.a', 1, minted);
        const { eventually } = await import('./support/eventually.js');
        await eventually(async () => {
          b.secrets.clearCache();
          expect(await caught(() => b.secrets.getSecret('old.a'))).toMatchObject({
            code: 'KMS_LEGACY_ENVELOPE_REFUSED',
          });
        });
      });
    }
  },
);

describe.each(ENGINES)('upgrading encrypted columns written before purposes, on %s', (engine) => {
  it('v1 column values load, move to kms2.column by re-encryption, then v1 is refused', async () => {
    const db = await createTestDatabase(engine);
    const masterKey = newMasterKey();
    const sql = new SqlRecorder();
    let app = await startProfilesApp(db, masterKey, sql, { reencryption: { auto: false } });
    try {
      const repository = () => app.dataSource.getRepository(UserProfile);
      const profile = await repository().save(repository().create({ userId: 'u-1', ssn: 'x' }));
      // A keyring as 0.1 left it (no record, an active key whose id marks nothing), and a value
      // as 0.1 wrote it.
      await sqlQuery(app.dataSource, "UPDATE kms_keyring SET legacy_refused_purposes = ''");
      await app.close();
      app = await startProfilesApp(db, masterKey, sql, { reencryption: { auto: false } });
      await app.kms.rotateDataKey();
      const binding = {
        'kms.table': 'test_user_profiles',
        'kms.column': 'ssn',
        'kms.row': profile.id,
        userId: 'u-1',
      };
      const v1 = await publicEnvelope(app.kms, 'ssn-written-by-v0.1', binding);
      await sqlQuery(app.dataSource, 'UPDATE test_user_profiles SET ssn = ? WHERE id = ?', [
        v1,
        profile.id,
      ]);

      expect((await repository().findOneByOrFail({ id: profile.id })).ssn).toBe(
        'ssn-written-by-v0.1',
      );
      expect(await app.kms.reencrypt(UserProfile)).toMatchObject({ moved: 1, remaining: 0 });
      // A run over some entities proves nothing about the others: no record yet.
      expect(await legacyRefused(app.dataSource)).toBe('');
      expect(await app.kms.reencrypt()).toMatchObject({ moved: 0, remaining: 0 });
      expect(await legacyRefused(app.dataSource)).toBe('column');
      const [row] = await sqlQuery(
        app.dataSource,
        'SELECT ssn FROM test_user_profiles WHERE id = ?',
        [profile.id],
      );
      expect(row.ssn).toMatch(/^kms2\.column\./);
      expect((await repository().findOneByOrFail({ id: profile.id })).ssn).toBe(
        'ssn-written-by-v0.1',
      );
      await sqlQuery(app.dataSource, 'UPDATE test_user_profiles SET ssn = ? WHERE id = ?', [
        v1,
        profile.id,
      ]);
      const error = await caught(() => repository().findOneByOrFail({ id: profile.id }));
      expect(error).toMatchObject({ reason: 'KMS_LEGACY_ENVELOPE_REFUSED' });
    } finally {
      await app.close();
      await db.drop();
    }
  });
});
