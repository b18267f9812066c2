import { randomBytes } from 'node:crypto';
import { Column, Entity, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';
import {
  ColumnDecryptionError,
  ColumnWriteError,
  EncryptedColumn,
  InvalidTenantError,
  KmsConfigurationError,
  KmsDataKeyEntity,
  TenantMismatchError,
  blindIndexOf,
  encryptExistingRows,
  findByBlindIndex,
  findOneByBlindIndex,
  type KmsModuleOptions,
} from '@nest-kms/kms';
import { isUniqueViolation } from '@nest-kms/kms/extension';
import { caught } from './support/caught.js';
import { FaultyMasterKey } from './support/faulty-master-key.js';
import { ENGINES, createTestDatabase, type TestDatabase } from './support/databases.js';
import { newMasterKey } from './support/kms-fixture.js';
import { sqlQuery as query } from './support/kms-tables.js';
import { startProfilesApp, type ProfilesApp } from './support/profiles-fixture.js';
import { SqlRecorder } from './support/sql-recorder.js';

/** A multi-tenant table: each row's values sealed under its tenant's keys. */
@Entity({ name: 'test_tenant_customers' })
class TenantCustomer {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'varchar', length: 64, nullable: true })
  tenantId: string | null;

  @EncryptedColumn<TenantCustomer>({
    type: 'string',
    tenant: (row) => row.tenantId,
    nullable: true,
  })
  ssn: string | null;

  @EncryptedColumn<TenantCustomer>({
    type: 'string',
    tenant: (row) => row.tenantId,
    blindIndex: { unique: true },
    nullable: true,
  })
  email: string | null;

  emailBlindIndex?: string | null;
}

/** A multi-tenant table being migrated from plaintext. */
@Entity({ name: 'test_legacy_tenant_customers' })
class LegacyTenantCustomer {
  @PrimaryColumn({ type: 'integer' })
  id: number;

  @Column({ type: 'varchar', length: 64, nullable: true })
  tenantId: string | null;

  @EncryptedColumn<LegacyTenantCustomer>({
    type: 'string',
    tenant: (row) => row.tenantId,
    allowPlaintext: true,
    nullable: true,
  })
  ssn: string | null;

  @EncryptedColumn<LegacyTenantCustomer>({
    type: 'string',
    tenant: (row) => row.tenantId,
    allowPlaintext: true,
    blindIndex: { unique: true },
    nullable: true,
  })
  email: string | null;

  emailBlindIndex?: string | null;
}

const TABLE = 'test_tenant_customers';
const LEGACY_TABLE = 'test_legacy_tenant_customers';

describe.each(ENGINES)('encrypted columns per tenant on %s', (engine) => {
  let db: TestDatabase;
  let masterKey: string;
  let sql: SqlRecorder;
  const apps: ProfilesApp[] = [];
  const start = async (options: Partial<KmsModuleOptions> = {}): Promise<ProfilesApp> => {
    const app = await startProfilesApp(
      db,
      masterKey,
      sql,
      { reencryption: { auto: false }, rotation: { checkIntervalMs: 0 }, ...options },
      [TenantCustomer, LegacyTenantCustomer],
    );
    apps.push(app);
    return app;
  };
  const restart = async (app: ProfilesApp): Promise<ProfilesApp> => {
    apps.splice(apps.indexOf(app), 1);
    await app.close();
    return start();
  };
  const customers = (app: ProfilesApp) => app.dataSource.getRepository(TenantCustomer);
  const save = (app: ProfilesApp, tenantId: string | null, ssn: string, email?: string) =>
    customers(app).save(customers(app).create({ tenantId, ssn, email: email ?? null }));
  const raw = async (app: ProfilesApp, id: string) =>
    (await query(app.dataSource, `SELECT * FROM ${TABLE} WHERE id = ?`, [id]))[0];
  const keyIdOf = (envelope: unknown) => String(envelope).split('.')[2];
  const tenantKeyRows = async (app: ProfilesApp) =>
    (await app.dataSource.getRepository(KmsDataKeyEntity).find()).filter((key) => key.tenant);

  beforeEach(async () => {
    db = await createTestDatabase(engine);
    masterKey = newMasterKey();
    sql = new SqlRecorder();
  });

  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    await db.drop();
  });

  it("seals each row's values under its tenant's keys and loads a find() of many tenants, after a restart too", async () => {
    let app = await start();
    const acme = await save(app, 'acme', 'ssn of acme', 'ann@acme.test');
    const globex = await save(app, 'globex', 'ssn of globex', 'bob@globex.test');
    const rawAcme = await raw(app, acme.id);
    const rawGlobex = await raw(app, globex.id);
    expect(rawAcme.ssn).toMatch(/^kms2\.column\.tk-/);
    expect(keyIdOf(rawAcme.ssn)).toBe(keyIdOf(rawAcme.email));
    expect(keyIdOf(rawAcme.ssn)).not.toBe(keyIdOf(rawGlobex.ssn));
    expect(acme.ssn).toBe('ssn of acme');

    app = await restart(app);
    const loaded = await customers(app).find({ order: { tenantId: 'ASC' } });
    expect(loaded.map(({ tenantId, ssn, email }) => ({ tenantId, ssn, email }))).toEqual([
      { tenantId: 'acme', ssn: 'ssn of acme', email: 'ann@acme.test' },
      { tenantId: 'globex', ssn: 'ssn of globex', email: 'bob@globex.test' },
    ]);
    // A tenant's column value is not a tenant envelope of the public API.
    const asPublic = await caught(() =>
      app.kms.decryptData(String(rawAcme.ssn), { tenant: 'acme' }),
    );
    expect(asPublic).toMatchObject({ code: 'KMS_ENVELOPE_PURPOSE_MISMATCH' });
  });

  it("refuses a value copied to another tenant's row, and a row whose tenant was changed in the database, naming the row", async () => {
    const app = await start();
    const acme = await save(app, 'acme', 'ssn of acme');
    const globex = await save(app, 'globex', 'ssn of globex');
    const stolen = (await raw(app, acme.id)).ssn;
    await query(app.dataSource, `UPDATE ${TABLE} SET ssn = ? WHERE id = ?`, [stolen, globex.id]);
    const copied = await caught(() => customers(app).findOneByOrFail({ id: globex.id }));
    expect(copied).toBeInstanceOf(ColumnDecryptionError);
    expect(copied).toMatchObject({
      code: 'KMS_COLUMN_DECRYPTION_FAILED',
      entity: 'TenantCustomer',
      column: 'ssn',
      rowId: globex.id,
      reason: 'KMS_TENANT_MISMATCH',
    });
    expect(copied.message).not.toContain('ssn of acme');

    await query(app.dataSource, `UPDATE ${TABLE} SET "tenantId" = ? WHERE id = ?`, [
      'globex',
      acme.id,
    ]);
    const moved = await caught(() => customers(app).findOneByOrFail({ id: acme.id }));
    expect(moved).toMatchObject({ rowId: acme.id, reason: 'KMS_TENANT_MISMATCH' });
    // Put back, the row opens again: nothing was lost.
    await query(app.dataSource, `UPDATE ${TABLE} SET "tenantId" = ? WHERE id = ?`, [
      'acme',
      acme.id,
    ]);
    expect((await customers(app).findOneByOrFail({ id: acme.id })).ssn).toBe('ssn of acme');
    await query(app.dataSource, `UPDATE ${TABLE} SET "tenantId" = NULL WHERE id = ?`, [acme.id]);
    const none = await caught(() => customers(app).findOneByOrFail({ id: acme.id }));
    expect(none).toMatchObject({ rowId: acme.id, reason: 'KMS_TENANT_MISSING' });
  });

  it('refuses a write that names no tenant, or an invalid one, before anything is written', async () => {
    const app = await start();
    const missing = await caught(() => save(app, null, 'orphan ssn'));
    expect(missing).toBeInstanceOf(ColumnWriteError);
    expect(missing).toMatchObject({ code: 'KMS_COLUMN_WRITE_REFUSED', column: 'ssn' });
    expect(missing.message).not.toContain('orphan ssn');
    expect(await caught(() => save(app, 'a/b', 'bad tenant'))).toBeInstanceOf(InvalidTenantError);
    const insert = await caught(() =>
      customers(app).insert({ tenantId: null, ssn: 'orphan 2', email: null }),
    );
    expect(insert).toBeInstanceOf(ColumnWriteError);
    expect(await customers(app).count()).toBe(0);
    expect(await tenantKeyRows(app)).toEqual([]);
    // A row without values needs no tenant.
    const empty = await customers(app).save(customers(app).create({ tenantId: null, ssn: null }));
    expect(await customers(app).findOneByOrFail({ id: empty.id })).toMatchObject({ ssn: null });
    const moved = await save(app, 'acme', 'ssn');
    await expect(
      customers(app).update({ id: moved.id }, { tenantId: 'globex' }),
    ).rejects.toBeInstanceOf(ColumnWriteError);
  });

  it("encryptExistingRows seals legacy rows under each row's tenant's keys, indexes them per tenant, and leaves rows without a valid tenant as they are", async () => {
    let app = await start();
    const legacy = () => app.dataSource.getRepository(LegacyTenantCustomer);
    const rawLegacy = async () =>
      new Map(
        (await query(app.dataSource, `SELECT * FROM ${LEGACY_TABLE}`)).map((row) => [
          Number(row.id),
          row,
        ]),
      );
    // acme and globex have keys already; initech's first key is made by the migration.
    await legacy().save({ id: 10, tenantId: 'acme', ssn: 'sealed ssn', email: 'old@acme.test' });
    await legacy().save({ id: 11, tenantId: 'globex', ssn: 'sealed ssn', email: null });
    // A value sealed before its column had a blind index: only the index is missing.
    await query(
      app.dataSource,
      `UPDATE ${LEGACY_TABLE} SET "emailBlindIndex" = NULL WHERE id = 10`,
    );
    const rows: [number, string | null, string | null, string | null][] = [
      [1, 'acme', 'ssn-a1', 'ann@acme.test'],
      [2, 'globex', 'ssn-g1', 'ann@acme.test'],
      [3, 'initech', 'ssn-i1', 'ivy@initech.test'],
      [4, null, 'ssn-orphan', 'orphan@nowhere.test'],
      [5, 'a/b', 'ssn-invalid', null],
      [6, 'acme', 'ssn-a2', null],
      [7, null, null, null],
    ];
    sql.muted = true;
    for (const row of rows) {
      await query(
        app.dataSource,
        `INSERT INTO ${LEGACY_TABLE} (id, "tenantId", ssn, email) VALUES (?, ?, ?, ?)`,
        row,
      );
    }
    sql.muted = false;
    // Every tenant's keys leave memory: the run loads each once.
    app = await restart(app);
    const before = await rawLegacy();
    const statements = sql.mark();

    const first = await encryptExistingRows(legacy(), { batchSize: 4 });
    // Rows 1–6 and 10 need work; 4 (no tenant) and 5 (an invalid one) cannot have it.
    expect(first).toMatchObject({ total: 7, done: 5, failed: 2, completed: true });
    const keyLoads = statements().filter(
      ({ query: text }) => /kms_data_keys/.test(text) && /ORDER BY/.test(text),
    );
    const loadsPerTag = new Map<unknown, number>();
    for (const { parameters } of keyLoads) {
      loadsPerTag.set(parameters[0], (loadsPerTag.get(parameters[0]) ?? 0) + 1);
    }
    expect([...loadsPerTag.values()]).toEqual([1, 1, 1]);
    expect(sql.text()).not.toMatch(/ssn-[a-z]|@acme\.test|@initech\.test/);

    const after = await rawLegacy();
    for (const id of [4, 5, 7, 11]) expect(after.get(id)).toEqual(before.get(id));
    expect(after.get(10)!.ssn).toBe(before.get(10)!.ssn);
    expect(after.get(10)!.emailBlindIndex).toEqual(expect.any(String));
    const keyIds = new Map([...after].map(([id, row]) => [id, keyIdOf(row.ssn)]));
    for (const id of [1, 2, 3, 6]) expect(String(after.get(id)!.ssn)).toMatch(/^kms2\.column\.tk-/);
    expect(keyIds.get(1)).toBe(keyIds.get(10));
    expect(keyIds.get(6)).toBe(keyIds.get(10));
    expect(keyIds.get(2)).toBe(keyIds.get(11));
    expect(new Set([keyIds.get(1), keyIds.get(2), keyIds.get(3)]).size).toBe(3);
    expect(await tenantKeyRows(app)).toHaveLength(3);

    const values = async (tenantId: string) =>
      (await legacy().find({ where: { tenantId }, order: { id: 'ASC' } })).map(
        ({ id, ssn, email }) => ({ id, ssn, email }),
      );
    expect(await values('acme')).toEqual([
      { id: 1, ssn: 'ssn-a1', email: 'ann@acme.test' },
      { id: 6, ssn: 'ssn-a2', email: null },
      { id: 10, ssn: 'sealed ssn', email: 'old@acme.test' },
    ]);
    expect(await values('globex')).toEqual([
      { id: 2, ssn: 'ssn-g1', email: 'ann@acme.test' },
      { id: 11, ssn: 'sealed ssn', email: null },
    ]);
    expect(await values('initech')).toEqual([{ id: 3, ssn: 'ssn-i1', email: 'ivy@initech.test' }]);
    const found = async (email: string, tenant: string) =>
      (await findByBlindIndex(legacy(), 'email', email, { tenant })).map((row) => row.id);
    expect(await found('ANN@acme.test', 'acme')).toEqual([1]);
    expect(await found('ann@acme.test', 'globex')).toEqual([2]);
    expect(await found('old@acme.test', 'acme')).toEqual([10]);
    expect(await found('ivy@initech.test', 'initech')).toEqual([3]);
    expect(await found('ivy@initech.test', 'acme')).toEqual([]);
    expect(after.get(1)!.emailBlindIndex).not.toBe(after.get(2)!.emailBlindIndex);

    // A value of acme's copied onto globex's row does not open there.
    await query(app.dataSource, `UPDATE ${LEGACY_TABLE} SET ssn = ? WHERE id = 2`, [
      after.get(1)!.ssn,
    ]);
    const copied = await caught(() => legacy().findOneByOrFail({ id: 2 }));
    expect(copied).toMatchObject({ rowId: '2', reason: 'KMS_TENANT_MISMATCH' });
    await query(app.dataSource, `UPDATE ${LEGACY_TABLE} SET ssn = ? WHERE id = 2`, [
      after.get(2)!.ssn,
    ]);

    // Nothing more to do but the two rows still refused; once they name a tenant, they are sealed.
    expect(await encryptExistingRows(legacy())).toMatchObject({ total: 2, done: 0, failed: 2 });
    expect(await rawLegacy()).toEqual(after);
    await query(
      app.dataSource,
      `UPDATE ${LEGACY_TABLE} SET "tenantId" = 'globex' WHERE id IN (4, 5)`,
    );
    expect(await encryptExistingRows(legacy())).toMatchObject({ total: 2, done: 2, failed: 0 });
    expect(await encryptExistingRows(legacy())).toMatchObject({ total: 0, done: 0, failed: 0 });
    expect(await values('globex')).toEqual([
      { id: 2, ssn: 'ssn-g1', email: 'ann@acme.test' },
      { id: 4, ssn: 'ssn-orphan', email: 'orphan@nowhere.test' },
      { id: 5, ssn: 'ssn-invalid', email: null },
      { id: 11, ssn: 'sealed ssn', email: null },
    ]);
    expect(await found('orphan@nowhere.test', 'globex')).toEqual([4]);
  });

  it("save() that moves a row to another tenant seals its values again under that tenant's keys", async () => {
    const app = await start();
    const row = await save(app, 'acme', 'moving ssn', 'moving@x.test');
    const before = await raw(app, row.id);
    row.tenantId = 'globex';
    await customers(app).save(row);
    const after = await raw(app, row.id);
    expect(keyIdOf(after.ssn)).not.toBe(keyIdOf(before.ssn));
    expect(keyIdOf(after.ssn)).toBe(keyIdOf(after.email));
    expect(after.emailBlindIndex).not.toBe(before.emailBlindIndex);
    expect(await customers(app).findOneByOrFail({ id: row.id })).toMatchObject({
      tenantId: 'globex',
      ssn: 'moving ssn',
      email: 'moving@x.test',
    });
    expect(
      await findByBlindIndex(customers(app), 'email', 'moving@x.test', { tenant: 'acme' }),
    ).toEqual([]);
    expect(
      (await findByBlindIndex(customers(app), 'email', 'moving@x.test', { tenant: 'globex' })).map(
        (found) => found.id,
      ),
    ).toEqual([row.id]);
  });

  it('keys blind indexes per tenant: equal values of two tenants do not match, and each is unique within its tenant', async () => {
    const app = await start();
    const acme = await save(app, 'acme', 's1', 'same@example.com');
    const globex = await save(app, 'globex', 's2', 'same@example.com');
    expect((await raw(app, acme.id)).emailBlindIndex).not.toBe(
      (await raw(app, globex.id)).emailBlindIndex,
    );
    const ofAcme = await findByBlindIndex(customers(app), 'email', ' SAME@example.com', {
      tenant: 'acme',
    });
    expect(ofAcme.map((found) => found.id)).toEqual([acme.id]);
    const fromWhere = await findOneByBlindIndex(customers(app), 'email', 'same@example.com', {
      where: { tenantId: 'globex' },
    });
    expect(fromWhere?.id).toBe(globex.id);
    const operator = await blindIndexOf(customers(app), 'email', 'same@example.com', {
      tenant: 'acme',
    });
    expect(
      (await customers(app).find({ where: { emailBlindIndex: operator } })).map((r) => r.id),
    ).toEqual([acme.id]);

    expect(() => blindIndexOf(customers(app), 'email', 'same@example.com')).toThrow(
      KmsConfigurationError,
    );
    await expect(
      findByBlindIndex(customers(app), 'email', 'same@example.com'),
    ).rejects.toBeInstanceOf(KmsConfigurationError);
    // A tenant never written has no keys: nothing matches, and no key is made for it.
    const keysBefore = (await tenantKeyRows(app)).length;
    expect(
      await findByBlindIndex(customers(app), 'email', 'same@example.com', { tenant: 'initech' }),
    ).toEqual([]);
    expect(await tenantKeyRows(app)).toHaveLength(keysBefore);

    const duplicate = await caught(() => save(app, 'acme', 's3', 'Same@Example.com'));
    expect(isUniqueViolation(duplicate)).toBe(true);
  });

  it("says a load failed for a while, not for good, when a tenant's own master key does not answer (retryable), and loads once it does", async () => {
    const acmeKey = new FaultyMasterKey(randomBytes(32));
    const ownKeys: Partial<KmsModuleOptions> = {
      tenantMasterKeys: { providerFor: (tenant) => (tenant === 'acme' ? acmeKey : undefined) },
      masterKeyCalls: { attempts: 1, backoffMs: 0 },
    };
    const first = await start(ownKeys);
    const byAcme = { id: (await save(first, 'acme', 'acme-ssn')).id };
    apps.splice(apps.indexOf(first), 1);
    await first.close();
    // A process that has not loaded acme's keys yet.
    const app = await start(ownKeys);
    acmeKey.down = true;

    const error = await caught(() => customers(app).findOneByOrFail(byAcme));
    expect(error).toBeInstanceOf(ColumnDecryptionError);
    expect(error).toMatchObject({ reason: 'KMS_MASTER_KEY_UNAVAILABLE', retryable: true });
    expect(error.message).not.toContain('acme-ssn');
    // A value that does not open is not retryable.
    expect(new ColumnDecryptionError('e', 'c', '1', 'KMS_AAD_MISMATCH', '')).toMatchObject({
      retryable: false,
    });

    acmeKey.down = false;
    expect((await customers(app).findOneByOrFail(byAcme)).ssn).toBe('acme-ssn');
  });

  it("refuses a lookup for one tenant that finds another tenant's row carrying its index (copied there in the database)", async () => {
    const app = await start();
    const acme = await save(app, 'acme', 'acme-ssn', 'ann@acme.test');
    const globex = await save(app, 'globex', 'globex-ssn', 'zed@globex.test');
    const { emailBlindIndex } = await raw(app, acme.id);
    await query(app.dataSource, `UPDATE ${TABLE} SET "emailBlindIndex" = NULL WHERE id = ?`, [
      acme.id,
    ]);
    await query(app.dataSource, `UPDATE ${TABLE} SET "emailBlindIndex" = ? WHERE id = ?`, [
      emailBlindIndex,
      globex.id,
    ]);

    for (const lookup of [
      () => findByBlindIndex(customers(app), 'email', 'ann@acme.test', { tenant: 'acme' }),
      () => findOneByBlindIndex(customers(app), 'email', 'ann@acme.test', { tenant: 'acme' }),
    ]) {
      const error = await caught(lookup);
      expect(error).toBeInstanceOf(TenantMismatchError);
      expect(error.message).not.toContain('zed@globex.test');
    }
    // Named in where, the tenant is a condition of the query: the foreign row is not found.
    expect(
      await findByBlindIndex(customers(app), 'email', 'ann@acme.test', {
        where: { tenantId: 'acme' },
      }),
    ).toEqual([]);
  });

  it("keeps a tenant's rows readable and findable through its key rotation, on every replica; re-encryption moves them to the tenant's new key", async () => {
    const app = await start();
    const old = await save(app, 'acme', 'old ssn', 'old@acme.test');
    const rawOld = await raw(app, old.id);
    await app.kms.rotateTenantKey('acme');
    const fresh = await save(app, 'acme', 'new ssn', 'new@acme.test');
    expect(keyIdOf((await raw(app, fresh.id)).ssn)).not.toBe(keyIdOf(rawOld.ssn));
    // The index key derives from the tenant's first key: rows of before and after match alike.
    const duplicate = await caught(() => save(app, 'acme', 'x', 'OLD@acme.test'));
    expect(isUniqueViolation(duplicate)).toBe(true);

    const replica = await start();
    for (const [email, id] of [
      ['old@acme.test', old.id],
      ['new@acme.test', fresh.id],
    ]) {
      const found = await findByBlindIndex(customers(replica), 'email', email, { tenant: 'acme' });
      expect(found.map((row) => row.id)).toEqual([id]);
    }

    const globex = await save(app, 'globex', 'globex ssn', 'ann@globex.test');
    const rawGlobex = await raw(app, globex.id);
    await app.kms.rotateDataKey();
    // The old row's two values, under acme's retired key; globex's was not rotated.
    expect(await app.kms.reencrypt()).toMatchObject({ moved: 2, failed: 0, remaining: 0 });
    const moved = await raw(app, old.id);
    const acmeKey = keyIdOf((await raw(app, fresh.id)).ssn);
    expect([keyIdOf(moved.ssn), keyIdOf(moved.email)]).toEqual([acmeKey, acmeKey]);
    expect(moved.emailBlindIndex).toBe(rawOld.emailBlindIndex);
    expect(await raw(app, globex.id)).toEqual(rawGlobex);
    expect(await customers(replica).findOneByOrFail({ id: old.id })).toMatchObject({
      ssn: 'old ssn',
      email: 'old@acme.test',
    });
    const found = await findByBlindIndex(customers(replica), 'email', 'old@acme.test', {
      tenant: 'acme',
    });
    expect(found.map((row) => row.id)).toEqual([old.id]);
    expect(await app.kms.reencrypt()).toMatchObject({ moved: 0, failed: 0, remaining: 0 });
  });

  it("after destroyTenant a tenant's rows fail to load and cannot be found; other tenants' rows load", async () => {
    let app = await start();
    const acme = await save(app, 'acme', 'acme ssn', 'ann@acme.test');
    await app.kms.rotateTenantKey('acme');
    const acme2 = await save(app, 'acme', 'acme ssn 2', null as unknown as string);
    const globex = await save(app, 'globex', 'globex ssn', 'ann@acme.test');

    const destruction = await app.kms.destroyTenant('acme', { confirm: 'acme' });
    // Both of acme's keys; the three values in the registered column (ssn twice, email once).
    expect(destruction).toEqual({ tenant: 'acme', keysDestroyed: 2, envelopesUnreadable: 3 });

    const expectShredded = async () => {
      const error = await caught(() => customers(app).findOneByOrFail({ id: acme.id }));
      expect(error).toBeInstanceOf(ColumnDecryptionError);
      expect(error).toMatchObject({ rowId: acme.id, reason: 'KMS_DATA_KEY_NOT_FOUND' });
      expect(
        await findByBlindIndex(customers(app), 'email', 'ann@acme.test', { tenant: 'acme' }),
      ).toEqual([]);
      const others = await customers(app).findBy({ tenantId: 'globex' });
      expect(others).toMatchObject([{ id: globex.id, ssn: 'globex ssn' }]);
    };
    await expectShredded();
    app = await restart(app);
    await expectShredded();
    await expect(customers(app).findOneByOrFail({ id: acme2.id })).rejects.toBeInstanceOf(
      ColumnDecryptionError,
    );
    // The tenant id used again gets new keys: its old rows stay unreadable and unfindable.
    const reborn = await save(app, 'acme', 'reborn ssn', 'ann@acme.test');
    const found = await findByBlindIndex(customers(app), 'email', 'ann@acme.test', {
      tenant: 'acme',
    });
    expect(found.map((row) => row.id)).toEqual([reborn.id]);
    await expect(customers(app).findOneByOrFail({ id: acme.id })).rejects.toBeInstanceOf(
      ColumnDecryptionError,
    );
  });
});
