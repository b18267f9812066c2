import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { Entity, PrimaryGeneratedColumn } from 'typeorm';
import {
  ColumnDecryptionError,
  ColumnWriteError,
  EncryptedColumn,
  InvalidInputError,
  KmsConfigurationError,
  findByBlindIndex,
  findOneByBlindIndex,
  encryptExistingRows,
} from '@nest-kms/kms';
import { isUniqueViolation } from '@nest-kms/kms/extension';
import { caught } from './support/caught.js';
import { CapturedLogger } from './support/captured-logger.js';
import { FaultyMasterKey } from './support/faulty-master-key.js';
import { ENGINES, createTestDatabase, type TestDatabase } from './support/databases.js';
import { newMasterKey } from './support/kms-fixture.js';
import { sqlQuery as query } from './support/kms-tables.js';
import {
  EmployeeProfile,
  LegacyCustomer,
  ProfileDocument,
  TypedValues,
  UserProfile,
  startProfilesApp,
  type ProfilesApp,
} from './support/profiles-fixture.js';
import { SqlRecorder } from './support/sql-recorder.js';

describe.each(ENGINES)('encrypted columns on %s', (engine) => {
  let db: TestDatabase;
  let app: ProfilesApp;
  let masterKey: string;
  const sql = new SqlRecorder();
  /** Every plaintext the suite stored: none may appear in any SQL statement or log line. */
  const plaintexts = new Set<string>();
  const secret = (label: string) => {
    const value = `${label}-${randomBytes(9).toString('base64url')}`;
    plaintexts.add(value);
    return value;
  };

  async function openApp(): Promise<void> {
    db = await createTestDatabase(engine);
    masterKey = newMasterKey();
    app = await startProfilesApp(db, masterKey, sql, { reencryption: { auto: false } });
  }

  async function closeApp(): Promise<void> {
    await app.close();
    await db.drop();
  }

  /** For tests that touch only the rows they create: one database and app for the whole block. */
  function appPerBlock(): void {
    beforeAll(openApp);
    afterAll(closeApp);
  }

  /** For tests that count every row or envelope, rotate keys or restart: their own of each. */
  function appPerTest(): void {
    beforeEach(openApp);
    afterEach(closeApp);
  }

  afterAll(() => {
    const statements = sql.text();
    const logs = CapturedLogger.allText();
    expect(sql.statements.length).toBeGreaterThan(100);
    expect(plaintexts.size).toBeGreaterThan(20);
    for (const plaintext of plaintexts) {
      expect(statements).not.toContain(plaintext);
      expect(logs).not.toContain(plaintext);
    }
  });

  const profiles = () => app.dataSource.getRepository(UserProfile);

  async function saveProfile(
    userId = `user-${randomBytes(6).toString('hex')}`,
  ): Promise<UserProfile> {
    return profiles().save(
      profiles().create({
        userId,
        ssn: secret('ssn'),
        bankAccount: { iban: secret('iban'), bic: 'DEUTDEFF' },
        email: `${secret('mail')}@example.com`,
      }),
    );
  }

  /**
   * A blind index as keyrings wrote it before they had an index root key: HMAC-SHA256 under a
   * key derived from the master key's bytes (HKDF twice), tagged with that key's fingerprint.
   * Computed here from the documented derivation, not by the library, so a change to it fails.
   */
  async function masterKeyDerivedIndex(key: string, binding: string, value: string) {
    const derivationKey = Buffer.from(
      hkdfSync(
        'sha256',
        Buffer.from(key, 'base64'),
        Buffer.alloc(0),
        'nest-kms/v1/derived-keys',
        32,
      ),
    );
    const indexKey = Buffer.from(
      hkdfSync('sha256', derivationKey, Buffer.alloc(0), `nest-kms/v1/blind-index/${binding}`, 32),
    );
    const tag = createHmac('sha256', indexKey)
      .update('nest-kms blind index tag')
      .digest()
      .subarray(0, 4);
    const normalised = value.normalize('NFC').trim().toLowerCase();
    const mac = createHmac('sha256', indexKey).update(normalised, 'utf8').digest('base64url');
    return `${tag.toString('hex')}.${mac}`;
  }

  async function rawRow(table: string, id: string): Promise<Record<string, unknown>> {
    const [row] = await query(app.dataSource, `SELECT * FROM ${table} WHERE id = ?`, [id]);
    return row as Record<string, unknown>;
  }

  describe('round trips', () => {
    appPerBlock();

    it('stores envelopes, never the value, and loads the exact value back', async () => {
      const saved = await saveProfile();
      const expected = { ...saved };
      const raw = await rawRow('test_user_profiles', saved.id);
      for (const column of ['ssn', 'bankAccount', 'email']) {
        expect(raw[column]).toMatch(/^kms2\.column\./);
      }
      expect(String(raw.ssn)).not.toContain(saved.ssn);
      expect(saved.ssn).toBe(expected.ssn);
      const loaded = await profiles().findOneByOrFail({ id: saved.id });
      expect(loaded).toEqual(expected);
    });

    it.each([
      ['text', ['', 'naïve ☃ 𝄞', 'x'.repeat(10_000)]],
      ['bytes', [Buffer.alloc(0), Buffer.from([0, 255, 1, 0]), randomBytes(4096)]],
      ['amount', [0, -0, 1.5, -273.15, Number.MAX_SAFE_INTEGER + 2, 1e-300, NaN, Infinity]],
      ['flag', [true, false]],
      ['at', [new Date(0), new Date('2026-11-30T05:20:04.123Z'), new Date(-1e12)]],
      ['data', [{ nested: { list: [1, 'two', null, true] } }, [1, 2, 3], 'just text', 42, false]],
    ] as const)('%s round-trips each value exactly', async (property, values) => {
      const repository = app.dataSource.getRepository(TypedValues);
      for (const value of values) {
        const saved = await repository.save(repository.create({ [property]: value }));
        const loaded = await repository.findOneByOrFail({ id: saved.id });
        const back = (loaded as unknown as Record<string, unknown>)[property];
        if (typeof value === 'number') expect(Object.is(back, value)).toBe(true);
        else expect(back).toEqual(value);
        if (Buffer.isBuffer(value)) expect(Buffer.isBuffer(back)).toBe(true);
        if (value instanceof Date) expect(back).toBeInstanceOf(Date);
      }
    });

    it('seals through insert() and upsert() too, and gives the caller its plaintext back', async () => {
      const row = { userId: 'u-insert', ssn: secret('ssn'), email: null, bankAccount: null };
      await profiles().insert(row);
      const id = (row as Partial<UserProfile>).id!;
      expect(row.ssn).toMatch(/^ssn-/);
      expect((await rawRow('test_user_profiles', id)).ssn).toMatch(/^kms2\.column\./);
      const replaced = {
        id,
        userId: 'u-insert',
        ssn: secret('ssn'),
        email: null,
        bankAccount: null,
      };
      await profiles().upsert(replaced, ['id']);
      expect((await rawRow('test_user_profiles', id)).ssn).toMatch(/^kms2\.column\./);
      expect(await profiles().findOneByOrFail({ id })).toMatchObject({ ssn: replaced.ssn });
    });

    it('opens the values of entities loaded through a relation, and inherited columns', async () => {
      const profile = await saveProfile();
      const documents = app.dataSource.getRepository(ProfileDocument);
      const saved = await documents.save(
        documents.create({ profile, content: secret('content'), remark: secret('remark') }),
      );
      const raw = await rawRow('test_profile_documents', saved.id);
      expect(raw.content).toMatch(/^kms2\.column\./);
      expect(raw.remark).toMatch(/^kms2\.column\./);
      const [loaded] = await documents.find({
        where: { id: saved.id },
        relations: { profile: true },
      });
      expect(loaded).toMatchObject({ content: saved.content, remark: saved.remark });
      expect(loaded.profile).toEqual({ ...profile });
      // TypeORM sends no load event for entities mapped by …AndMapOne: their values stay sealed,
      // never the ciphertext posing as the value.
      const joined = (await profiles()
        .createQueryBuilder('profile')
        .innerJoinAndMapOne(
          'profile.document',
          ProfileDocument,
          'document',
          'document.profileId = profile.id',
        )
        .where('profile.id = :id', { id: profile.id })
        .getOneOrFail()) as UserProfile & { document: ProfileDocument };
      expect(joined.ssn).toBe(profile.ssn);
      expect(typeof joined.document.content).not.toBe('string');
      expect(String(joined.document.content)).toBe('[encrypted]');
      expect(JSON.stringify(joined.document)).not.toContain('kms2.');
    });

    it('keeps null as NULL, unencrypted, and loads it as null', async () => {
      const repository = app.dataSource.getRepository(TypedValues);
      const saved = await repository.save(repository.create({ text: null, amount: null }));
      const raw = await rawRow('test_typed_values', saved.id);
      expect(raw.text).toBeNull();
      expect(raw.amount).toBeNull();
      const loaded = await repository.findOneByOrFail({ id: saved.id });
      expect(loaded.text).toBeNull();
      expect(loaded.amount).toBeNull();
      expect(loaded.data).toBeNull();
    });

    it('refuses a value of the wrong type before anything is written', async () => {
      const repository = app.dataSource.getRepository(TypedValues);
      const rows = await repository.count();
      const error = await caught(() =>
        repository.save(repository.create({ amount: '12' as unknown as number })),
      );
      expect(error).toBeInstanceOf(InvalidInputError);
      expect(error.message).toBe('Invalid TypedValues.amount: must be a number');
      expect(await repository.count()).toBe(rows);
    });

    it('re-encrypts on save only what changed, and loads what the last save wrote', async () => {
      const saved = await saveProfile();
      const before = await rawRow('test_user_profiles', saved.id);
      const loaded = await profiles().findOneByOrFail({ id: saved.id });
      loaded.ssn = secret('ssn-new');
      await profiles().save(loaded);
      const after = await rawRow('test_user_profiles', saved.id);
      expect(after.ssn).not.toBe(before.ssn);
      expect(after.bankAccount).toBe(before.bankAccount);
      expect(after.email).toBe(before.email);
      expect((await profiles().findOneByOrFail({ id: saved.id })).ssn).toBe(loaded.ssn);
    });
  });

  describe('binding to entity, column and row', () => {
    appPerBlock();

    it('refuses a ciphertext copied onto another row, naming entity, column and row', async () => {
      const first = await saveProfile();
      const second = await saveProfile();
      const stolen = (await rawRow('test_user_profiles', first.id)).ssn;
      await query(app.dataSource, 'UPDATE test_user_profiles SET ssn = ? WHERE id = ?', [
        stolen,
        second.id,
      ]);
      const error = await caught(() => profiles().findOneByOrFail({ id: second.id }));
      expect(error).toBeInstanceOf(ColumnDecryptionError);
      expect(error).toMatchObject({
        code: 'KMS_COLUMN_DECRYPTION_FAILED',
        entity: 'UserProfile',
        column: 'ssn',
        rowId: second.id,
        reason: 'KMS_AAD_MISMATCH',
      });
      expect(error.message).toContain(`UserProfile.ssn of row "${second.id}"`);
      expect(error.message).not.toContain(String(stolen));
      expect(error.message).not.toContain(first.ssn);
    });

    it('refuses a ciphertext copied onto another column of the same row', async () => {
      const saved = await saveProfile();
      const raw = await rawRow('test_user_profiles', saved.id);
      await query(app.dataSource, 'UPDATE test_user_profiles SET email = ? WHERE id = ?', [
        raw.ssn,
        saved.id,
      ]);
      const error = await caught(() => profiles().findOneByOrFail({ id: saved.id }));
      expect(error).toMatchObject({ column: 'email', reason: 'KMS_AAD_MISMATCH' });
    });

    it('refuses a ciphertext copied onto another entity with the same id and column', async () => {
      const saved = await saveProfile('same-user');
      const employees = app.dataSource.getRepository(EmployeeProfile);
      await employees.save(
        employees.create({ id: saved.id, userId: 'same-user', ssn: secret('e') }),
      );
      const raw = await rawRow('test_user_profiles', saved.id);
      await query(app.dataSource, 'UPDATE test_employee_profiles SET ssn = ? WHERE id = ?', [
        raw.ssn,
        saved.id,
      ]);
      const error = await caught(() => employees.findOneByOrFail({ id: saved.id }));
      expect(error).toMatchObject({ entity: 'EmployeeProfile', reason: 'KMS_AAD_MISMATCH' });
    });

    it('refuses a value whose row no longer has the aad() context it was bound to', async () => {
      const saved = await saveProfile();
      await query(app.dataSource, 'UPDATE test_user_profiles SET "userId" = ? WHERE id = ?', [
        'someone-else',
        saved.id,
      ]);
      const error = await caught(() => profiles().findOneByOrFail({ id: saved.id }));
      expect(error).toMatchObject({ column: 'ssn', reason: 'KMS_AAD_MISMATCH' });
    });

    it('seals again under the new context when save() changes what aad() reads', async () => {
      const saved = await saveProfile();
      const ssn = saved.ssn;
      await profiles().save({ id: saved.id, userId: 'moved-user' });
      const loaded = await profiles().findOneByOrFail({ id: saved.id });
      expect(loaded).toMatchObject({ userId: 'moved-user', ssn });
    });

    it('binds a value from a partial save() to the context the row keeps', async () => {
      const saved = await saveProfile();
      const ssn = secret('ssn-partial');
      await profiles().save({ id: saved.id, ssn });
      expect(await profiles().findOneByOrFail({ id: saved.id })).toMatchObject({
        userId: saved.userId,
        ssn,
      });
    });

    it('refuses updates by criteria that would write a value or change its binding', async () => {
      const saved = await saveProfile();
      const value = await caught(() => profiles().update({ id: saved.id }, { ssn: secret('x') }));
      expect(value).toBeInstanceOf(ColumnWriteError);
      expect(value).toMatchObject({ code: 'KMS_COLUMN_WRITE_REFUSED', column: 'ssn' });
      const binding = await caught(() => profiles().update({ id: saved.id }, { userId: 'other' }));
      expect(binding).toBeInstanceOf(ColumnWriteError);
      expect(binding.message).toContain('changes userId');
      expect(await profiles().findOneByOrFail({ id: saved.id })).toMatchObject({
        userId: saved.userId,
        ssn: saved.ssn,
      });
    });

    it('refuses an altered envelope with a typed error, never the raw value', async () => {
      const saved = await saveProfile();
      const failures = app.kms.getStatus().decryptionFailures;
      const raw = String((await rawRow('test_user_profiles', saved.id)).bankAccount);
      const parts = raw.split('.');
      parts[5] = parts[5].startsWith('A') ? `B${parts[5].slice(1)}` : `A${parts[5].slice(1)}`;
      await query(app.dataSource, 'UPDATE test_user_profiles SET "bankAccount" = ? WHERE id = ?', [
        parts.join('.'),
        saved.id,
      ]);
      const error = await caught(() => profiles().findOneByOrFail({ id: saved.id }));
      expect(error).toMatchObject({ column: 'bankAccount', reason: 'KMS_DECRYPTION_FAILED' });
      expect(app.kms.getStatus().decryptionFailures).toBeGreaterThan(failures);
    });

    it('refuses plaintext in a column that does not allow it', async () => {
      const saved = await saveProfile();
      await query(app.dataSource, 'UPDATE test_user_profiles SET ssn = ? WHERE id = ?', [
        'not-an-envelope',
        saved.id,
      ]);
      const error = await caught(() => profiles().findOneByOrFail({ id: saved.id }));
      expect(error).toMatchObject({ column: 'ssn', reason: 'KMS_PLAINTEXT_REFUSED' });
    });

    it('a search by plaintext matches nothing and sends only a keyed hash', async () => {
      const saved = await saveProfile();
      expect(await profiles().findBy({ ssn: saved.ssn! })).toEqual([]);
    });

    it('puts the plaintext back in the entity when the save rolls back', async () => {
      const first = await saveProfile();
      const duplicate = profiles().create({ userId: 'u', ssn: secret('ssn'), email: first.email });
      const ssn = duplicate.ssn;
      const error = await caught(() => profiles().save(duplicate));
      expect(isUniqueViolation(error)).toBe(true);
      expect(duplicate.ssn).toBe(ssn);
      expect(duplicate.email).toBe(first.email);
    });
  });

  describe('blind index', () => {
    appPerBlock();

    it('finds rows by a normalised value and enforces uniqueness through it', async () => {
      const saved = await saveProfile();
      const shouted = `  ${saved.email!.toUpperCase()} `;
      const [found] = await findByBlindIndex(profiles(), 'email', shouted);
      expect(found).toMatchObject({ id: saved.id, email: saved.email });
      expect(await findOneByBlindIndex(profiles(), 'email', 'nobody@example.com')).toBeNull();
      const raw = await rawRow('test_user_profiles', saved.id);
      expect(raw.emailBlindIndex).toMatch(/^[0-9a-f]{8}\.[A-Za-z0-9_-]{43}$/);
      const error = await caught(() =>
        profiles().save(profiles().create({ userId: 'other', email: shouted })),
      );
      expect(isUniqueViolation(error)).toBe(true);
    });

    it('refuses a lookup on a column without a blind index', async () => {
      await expect(findByBlindIndex(profiles(), 'ssn', 'x')).rejects.toThrow(KmsConfigurationError);
    });
  });

  describe('migration from plaintext', () => {
    appPerTest();

    it('encrypts 10,000 legacy rows in place, stopped half-way and resumed, each once', async () => {
      const customers = app.dataSource.getRepository(LegacyCustomer);
      const tag = randomBytes(6).toString('hex');
      const legacy = Array.from({ length: 10_000 }, (_, at) => ({
        id: at + 1,
        name: `customer ${at + 1}`,
        taxId: `tax-${at + 1}-${tag}`,
      }));
      sql.muted = true;
      for (let from = 0; from < legacy.length; from += 250) {
        const chunk = legacy.slice(from, from + 250);
        await query(
          app.dataSource,
          `INSERT INTO test_legacy_customers (id, name, "taxId") VALUES ${chunk.map(() => '(?, ?, ?)').join(', ')}`,
          chunk.flatMap((row) => [row.id, row.name, row.taxId]),
        );
      }
      sql.muted = false;
      // While the option is on, reads accept the legacy plaintext.
      expect(await customers.findOneByOrFail({ id: 7 })).toMatchObject(legacy[6]);

      const stop = new AbortController();
      const progress: number[] = [];
      const first = await encryptExistingRows(customers, {
        batchSize: 500,
        signal: stop.signal,
        onProgress: ({ done }) => {
          progress.push(done);
          if (done >= 5_000) stop.abort();
        },
      });
      expect(first).toMatchObject({ completed: false, done: 5_000, total: 10_000, failed: 0 });
      expect(progress).toEqual(Array.from({ length: 10 }, (_, at) => (at + 1) * 500));
      const sealedFirst = new Map(
        (
          await query(
            app.dataSource,
            `SELECT id, "taxId" FROM test_legacy_customers WHERE "taxId" LIKE 'kms2.column.%'`,
          )
        ).map((row) => [Number(row.id), row.taxId as string]),
      );
      expect(sealedFirst.size).toBe(5_000);

      const second = await encryptExistingRows(customers, { batchSize: 500 });
      expect(second).toMatchObject({ completed: true, done: 5_000, total: 5_000, failed: 0 });
      const rows = await query(
        app.dataSource,
        'SELECT id, "taxId", "taxIdBlindIndex" FROM test_legacy_customers',
      );
      expect(rows).toHaveLength(10_000);
      for (const row of rows) {
        expect(row.taxId).toMatch(/^kms2\.column\./);
        expect(row.taxIdBlindIndex).toMatch(/^[0-9a-f]{8}\./);
        const before = sealedFirst.get(Number(row.id));
        if (before) expect(row.taxId).toBe(before);
      }
      const loaded = await customers.find({ order: { id: 'ASC' } });
      expect(loaded.map((row) => ({ ...row, taxIdBlindIndex: undefined }))).toEqual(
        legacy.map((row) => ({ ...row, taxIdBlindIndex: undefined })),
      );
      expect(await findOneByBlindIndex(customers, 'taxId', legacy[9_999].taxId)).toMatchObject({
        id: 10_000,
      });
      expect(await encryptExistingRows(customers)).toMatchObject({ total: 0, done: 0 });
      expect(sql.text().match(new RegExp(`tax-\\d+-${tag}`))).toBeNull();
      // 10,000 rows written, sealed in two runs and read back: seconds alone, more beside other suites.
    }, 120_000);
  });

  describe('master-key rotation', () => {
    appPerTest();

    it('keeps blind indexes through a master-key rotation: they derive from the keyring, not the master key', async () => {
      const saved = await saveProfile();
      const indexBefore = (await rawRow('test_user_profiles', saved.id)).emailBlindIndex;
      const next = newMasterKey();
      await app.kms.rotateMasterKey(next);
      expect(await findOneByBlindIndex(profiles(), 'email', saved.email)).toMatchObject({
        id: saved.id,
      });
      expect(await encryptExistingRows(profiles())).toMatchObject({ total: 0, done: 0 });
      await app.close();
      app = await startProfilesApp(db, next, sql, { reencryption: { auto: false } });
      expect(await findOneByBlindIndex(profiles(), 'email', saved.email)).toEqual({
        ...saved,
        emailBlindIndex: indexBefore,
      });
    });

    it('matches rows indexed before the keyring had an index root key (keyed from the master key) until encryptExistingRows re-indexes them', async () => {
      const saved = await saveProfile();
      const current = (await rawRow('test_user_profiles', saved.id)).emailBlindIndex;
      const legacy = await masterKeyDerivedIndex(
        masterKey,
        'test_user_profiles.email',
        saved.email!,
      );
      expect(legacy).not.toBe(current);
      await query(
        app.dataSource,
        'UPDATE test_user_profiles SET "emailBlindIndex" = ? WHERE id = ?',
        [legacy, saved.id],
      );

      expect(await findOneByBlindIndex(profiles(), 'email', saved.email)).toMatchObject({
        id: saved.id,
      });
      expect(await encryptExistingRows(profiles())).toMatchObject({
        done: 1,
        failed: 0,
        completed: true,
      });
      expect((await rawRow('test_user_profiles', saved.id)).emailBlindIndex).toBe(current);
      expect(await findOneByBlindIndex(profiles(), 'email', saved.email)).toMatchObject({
        id: saved.id,
      });
    });

    it('indexes under a master key that cannot derive keys (an external provider), the same on every replica', async () => {
      const external = await createTestDatabase(engine);
      const bytes = randomBytes(32);
      const options = { reencryption: { auto: false } };
      const writer = await startProfilesApp(external, new FaultyMasterKey(bytes), sql, options);
      const reader = await startProfilesApp(external, new FaultyMasterKey(bytes), sql, options);
      try {
        const email = `${secret('mail')}@example.com`;
        const written = writer.dataSource.getRepository(UserProfile);
        const saved = await written.save(written.create({ userId: 'external', email }));
        const found = await findOneByBlindIndex(
          reader.dataSource.getRepository(UserProfile),
          'email',
          email,
        );
        expect(found).toMatchObject({ id: saved.id, email });
      } finally {
        await reader.close();
        await writer.close();
        await external.drop();
      }
    });
  });

  describe('rotation', () => {
    appPerTest();

    it('loads values under retired keys, and reencrypt(Entity) moves every row', async () => {
      const saved = await Promise.all(Array.from({ length: 30 }, () => saveProfile()));
      const oldKey = app.kms.getStatus().activeKeyId;
      const { keyId: newKey } = await app.kms.rotateDataKey();
      await saveProfile();
      for (const profile of saved.slice(0, 3)) {
        expect(await profiles().findOneByOrFail({ id: profile.id })).toEqual({ ...profile });
      }
      const result = await app.kms.reencrypt(UserProfile);
      expect(result).toMatchObject({ ran: true, failed: 0, remaining: 0 });
      expect(result.moved).toBe(30 * 3);
      const rows = await query(
        app.dataSource,
        'SELECT ssn, "bankAccount", email FROM test_user_profiles',
      );
      for (const row of rows) {
        for (const envelope of Object.values(row)) {
          expect(String(envelope)).toMatch(new RegExp(`^kms2\\.column\\.${newKey}\\.`));
        }
      }
      expect(await app.kms.countEnvelopesUsing(oldKey!)).toBe(0);
      const loaded = await profiles().find();
      expect(loaded).toHaveLength(31);
      for (const profile of saved) {
        expect(loaded.find((row) => row.id === profile.id)).toEqual({ ...profile });
      }
    });

    it("loads a row sealed by another app's new key it has not seen yet", async () => {
      const other = await startProfilesApp(db, masterKey, sql);
      try {
        await other.kms.rotateDataKey();
        const repository = other.dataSource.getRepository(UserProfile);
        const saved = await repository.save(
          repository.create({ userId: 'u', ssn: secret('fresh'), email: null, bankAccount: null }),
        );
        expect(await profiles().findOneByOrFail({ id: saved.id })).toMatchObject({
          ssn: saved.ssn,
        });
      } finally {
        await other.close();
      }
    });
  });
});

describe('encrypted columns configuration', () => {
  it('refuses at start an entity whose key the database generates at the INSERT', async () => {
    @Entity({ name: 'test_numbered' })
    class Numbered {
      @PrimaryGeneratedColumn() id: number;
      @EncryptedColumn() secret: string;
    }
    const error = await caught(() =>
      startProfilesApp(db, newMasterKey(), new SqlRecorder(), {}, [Numbered]),
    );
    expect(error).toBeInstanceOf(KmsConfigurationError);
    expect(error.message).toContain("@PrimaryGeneratedColumn('uuid')");
  });

  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase('sqlite');
  });
  afterEach(() => db.drop());

  it('refuses to save an encrypted entity when no KMS serves its DataSource', async () => {
    @Entity({ name: 'test_unserved' })
    class Unserved {
      @PrimaryGeneratedColumn('uuid') id: string;
      @EncryptedColumn() secret: string;
    }
    const { DataSource } = await import('typeorm');
    const dataSource = new DataSource({
      ...db.connection,
      entities: [Unserved],
      synchronize: true,
    } as ConstructorParameters<typeof DataSource>[0]);
    await dataSource.initialize();
    try {
      const error = await caught(() =>
        dataSource.getRepository(Unserved).save({ secret: 'never-stored' }),
      );
      expect(error).toBeInstanceOf(KmsConfigurationError);
      expect(error.message).toContain('Unserved.secret is an encrypted column');
      expect(await dataSource.query('SELECT * FROM test_unserved')).toEqual([]);
    } finally {
      await dataSource.destroy();
    }
  });
});
