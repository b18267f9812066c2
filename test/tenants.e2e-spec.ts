import {
  DataKeyNotFoundError,
  DataKeyNotInMemoryError,
  InvalidExportError,
  InvalidTenantError,
  KeyringIntegrityError,
  KmsDataKeyEntity,
  TenantDestructionNotConfirmedError,
  TenantMismatchError,
  type EnvelopeV1,
} from '@nest-kms/kms';
import { CapturedLogger, loggedEvents } from './support/captured-logger.js';
import { caught } from './support/caught.js';
import { ENGINES, createTestDatabase, type TestDatabase } from './support/databases.js';
import { newMasterKey } from './support/kms-fixture.js';
import { openKmsTables } from './support/kms-tables.js';
import { NoteEntity, startNotesApp, type NotesApp } from './support/notes-fixture.js';

describe.each(ENGINES)('per-tenant keys on %s', (engine) => {
  let db: TestDatabase;
  const apps: NotesApp[] = [];
  let masterKey = newMasterKey();
  const start = async (): Promise<NotesApp> => {
    const app = await startNotesApp(db, masterKey, {
      rotation: { checkIntervalMs: 0 },
      reencryption: { auto: false },
    });
    apps.push(app);
    return app;
  };
  /** Closes `app` and starts another on the same database: nothing of it stays in memory. */
  const restart = async (app: NotesApp): Promise<NotesApp> => {
    apps.splice(apps.indexOf(app), 1);
    await app.close();
    return start();
  };
  const storedKeys = async (): Promise<KmsDataKeyEntity[]> => {
    const tables = await openKmsTables(db);
    try {
      return await tables.getRepository(KmsDataKeyEntity).find();
    } finally {
      await tables.destroy();
    }
  };

  beforeEach(async () => {
    db = await createTestDatabase(engine);
  });

  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    await db.drop();
  });

  it("opens a tenant's envelope only as that tenant's, and refuses it as another's or as no tenant's", async () => {
    const { kms } = await start();
    const ofA = await kms.encryptData('invoice of acme', { tenant: 'acme' });
    const ofB = await kms.encryptData('invoice of globex', { tenant: 'globex' });
    const shared = await kms.encryptData('not a tenant');

    expect(await kms.decryptData(ofA, { tenant: 'acme' })).toBe('invoice of acme');
    expect(await kms.decryptData(ofB, { tenant: 'globex' })).toBe('invoice of globex');
    expect(await kms.decryptData(shared)).toBe('not a tenant');
    expect(ofA.keyId).not.toBe(ofB.keyId);
    expect(ofA.keyId).not.toBe(shared.keyId);

    const asOther = await caught(() => kms.decryptData(ofA, { tenant: 'globex' }));
    expect(asOther).toBeInstanceOf(TenantMismatchError);
    expect(asOther).toMatchObject({ code: 'KMS_TENANT_MISMATCH', tenantGiven: true });
    const asNone = await caught(() => kms.decryptData(ofA));
    expect(asNone).toMatchObject({ code: 'KMS_TENANT_MISMATCH', tenantGiven: false });
    const sharedAsTenant = await caught(() => kms.decryptData(shared, { tenant: 'acme' }));
    expect(sharedAsTenant).toBeInstanceOf(TenantMismatchError);
    // The same checks on the synchronous path and the compact form.
    expect(() => kms.decryptDataSync(ofA, { tenant: 'globex' })).toThrow(TenantMismatchError);
    const compact = await kms.encryptToString('compact of acme', { tenant: 'acme' });
    expect(kms.decryptDataSync(compact, { tenant: 'acme' })).toBe('compact of acme');
    expect(() => kms.decryptDataSync(compact)).toThrow(TenantMismatchError);
    // The caller's AAD is checked as ever, beside the tenant.
    const bound = await kms.encryptData('bound', { tenant: 'acme', aad: { field: 'iban' } });
    expect(await kms.decryptData(bound, { tenant: 'acme', aad: { field: 'iban' } })).toBe('bound');
    expect((await caught(() => kms.decryptData(bound, { tenant: 'acme', aad: 'x' }))).name).toBe(
      'AadMismatchError',
    );
  });

  it('seals and opens batches per tenant, one result per item', async () => {
    const { kms } = await start();
    const sealed = await kms.encryptMany(['a', 'b'], { tenant: 'acme' });
    const envelopes = sealed.map((result) => (result.ok ? result.value : undefined!));
    const other = await kms.encryptData('c', { tenant: 'globex' });

    const opened = await kms.decryptMany([...envelopes, other], { tenant: 'acme' });
    expect(opened.slice(0, 2)).toEqual([
      { ok: true, value: 'a' },
      { ok: true, value: 'b' },
    ]);
    expect(opened[2]).toMatchObject({ ok: false, error: { code: 'KMS_TENANT_MISMATCH' } });
  });

  it('refuses an invalid tenant id with a typed error before anything is sealed or stored', async () => {
    const { kms } = await start();
    for (const tenant of ['', ' acme', 'a/b', 'x'.repeat(65), 'é', 42]) {
      const error = await caught(() => kms.encryptData('x', { tenant: tenant as string }));
      expect(error).toBeInstanceOf(InvalidTenantError);
      expect(error).toMatchObject({ code: 'KMS_INVALID_TENANT' });
    }
    const envelope = await kms.encryptData('x');
    expect(await caught(() => kms.decryptData(envelope, { tenant: 'a b' }))).toBeInstanceOf(
      InvalidTenantError,
    );
    expect(await caught(() => kms.rotateTenantKey('a\nb'))).toBeInstanceOf(InvalidTenantError);
    expect((await storedKeys()).filter((key) => key.tenant !== null)).toEqual([]);
  });

  it("makes a tenant's key on first use, once under concurrent first uses, and stores neither the tenant's name nor a key in the clear", async () => {
    const { kms } = await start();
    const envelopes = await Promise.all(
      Array.from({ length: 20 }, (_, i) => kms.encryptData(`n${i}`, { tenant: 'acme' })),
    );
    expect(new Set(envelopes.map((envelope) => envelope.keyId)).size).toBe(1);
    const keys = await storedKeys();
    const tenantKeys = keys.filter((key) => key.tenant !== null);
    expect(tenantKeys).toHaveLength(1);
    expect(tenantKeys[0]).toMatchObject({ id: envelopes[0].keyId, status: 'active' });
    expect(JSON.stringify(keys)).not.toContain('acme');
    // The keyring's own keys are listed as before; tenants' keys are not among them.
    expect((await kms.listDataKeys()).map((key) => key.id)).not.toContain(envelopes[0].keyId);
  });

  it('loads no tenant key at start: a tenant is read on its first use after a restart', async () => {
    let app = await start();
    const envelopes: EnvelopeV1[] = [];
    for (let i = 0; i < 5; i++) {
      envelopes.push(await app.kms.encryptData(`tenant ${i}`, { tenant: `t${i}` }));
    }
    app = await restart(app);
    expect(app.kms.getStatus().dataKeysCount).toBe(1);
    expect(() => app.kms.decryptDataSync(envelopes[3], { tenant: 't3' })).toThrow(
      DataKeyNotInMemoryError,
    );
    expect(await app.kms.decryptData(envelopes[3], { tenant: 't3' })).toBe('tenant 3');
    expect(app.kms.decryptDataSync(envelopes[3], { tenant: 't3' })).toBe('tenant 3');
    expect(() => app.kms.decryptDataSync(envelopes[4], { tenant: 't4' })).toThrow(
      DataKeyNotInMemoryError,
    );
  });

  it("rotates one tenant's key: its older envelopes still open, and no other tenant's key moves", async () => {
    const { kms } = await start();
    const before = await kms.encryptData('before', { tenant: 'acme' });
    const globex = await kms.encryptData('globex', { tenant: 'globex' });
    const rotation = await kms.rotateTenantKey('acme');
    expect(rotation).toMatchObject({ previousKeyId: before.keyId });
    const after = await kms.encryptData('after', { tenant: 'acme' });
    expect(after.keyId).toBe(rotation.keyId);
    expect(await kms.decryptData(before, { tenant: 'acme' })).toBe('before');
    expect((await kms.encryptData('g2', { tenant: 'globex' })).keyId).toBe(globex.keyId);
    const active = (await storedKeys()).filter((key) => key.status === 'active');
    expect(active.map((key) => key.id).sort()).toEqual(
      [rotation.keyId, globex.keyId, (await kms.encryptData('own')).keyId].sort(),
    );
  });

  it('refuses an envelope whose key row an attacker moved to another tenant in the database', async () => {
    let app = await start();
    const ofA = await app.kms.encryptData('secret of acme', { tenant: 'acme' });
    const ofB = await app.kms.encryptData('of globex', { tenant: 'globex' });
    // With write access to the tables: acme's key re-labelled as a key of globex's.
    const forged = `${ofB.keyId.slice(0, 26)}${ofA.keyId.slice(26)}`;
    const tables = await openKmsTables(db);
    const [globexKey] = await tables.getRepository(KmsDataKeyEntity).findBy({ id: ofB.keyId });
    await tables
      .getRepository(KmsDataKeyEntity)
      .update({ id: ofA.keyId }, { id: forged, tenant: globexKey.tenant, status: 'retired' });
    await tables.destroy();
    app = await restart(app);

    const error = await caught(() =>
      app.kms.decryptData({ ...ofA, keyId: forged }, { tenant: 'globex' }),
    );
    expect(error).toBeInstanceOf(KeyringIntegrityError);
    // A tenant whose stored keys were tampered with is an alarm, not a key to skip.
    expect(await caught(() => app.kms.decryptData(ofB, { tenant: 'globex' }))).toBeInstanceOf(
      KeyringIntegrityError,
    );
    const own = await app.kms.encryptData('own');
    expect(await app.kms.decryptData(own)).toBe('own');
  });

  it("refuses a key row whose tenant column alone an attacker changed: to another tenant's, to the keyring's own, or a keyring key's to a tenant's", async () => {
    let app = await start();
    const ofA = await app.kms.encryptData('secret of acme', { tenant: 'acme' });
    const ofB = await app.kms.encryptData('of globex', { tenant: 'globex' });
    const ofInitech = await app.kms.encryptData('of initech', { tenant: 'initech' });
    const own = await app.kms.encryptData('keyring secret');
    await app.kms.rotateDataKey();
    await app.kms.rotateTenantKey('initech');
    // With write access to the tables, ids untouched (retired keys: the tables allow one active
    // key per tenant and one for the keyring).
    const relabel = async (id: string, tenant: string | null) => {
      const tables = await openKmsTables(db);
      await tables.getRepository(KmsDataKeyEntity).update({ id }, { tenant, status: 'retired' });
      await tables.destroy();
    };
    const tagOf = async (id: string) =>
      (await storedKeys()).find((key) => key.id === id)!.tenant ?? null;
    const globexTag = await tagOf(ofB.keyId);
    const initechTag = await tagOf(ofInitech.keyId);

    // Acme's key labelled globex's: globex's keys are refused, as a whole.
    await relabel(ofA.keyId, globexTag);
    app = await restart(app);
    for (const envelope of [ofA, ofB]) {
      expect(
        await caught(() => app.kms.decryptData(envelope, { tenant: 'globex' })),
      ).toBeInstanceOf(KeyringIntegrityError);
    }
    // The batch's tenant is one for all its items: its refusal is the batch's.
    expect(await caught(() => app.kms.decryptMany([ofA], { tenant: 'globex' }))).toBeInstanceOf(
      KeyringIntegrityError,
    );
    expect(await caught(() => app.kms.decryptData(ofA, { tenant: 'acme' }))).toBeInstanceOf(
      DataKeyNotFoundError,
    );

    // The keyring's retired key labelled initech's: initech's keys are refused.
    await relabel(own.keyId, initechTag);
    app = await restart(app);
    expect(await caught(() => app.kms.decryptData(own, { tenant: 'initech' }))).toBeInstanceOf(
      KeyringIntegrityError,
    );
    expect(
      await caught(() => app.kms.decryptData(ofInitech, { tenant: 'initech' })),
    ).toBeInstanceOf(KeyringIntegrityError);
    await relabel(own.keyId, null);

    // Initech's key labelled the keyring's own: the keyring refuses to start.
    await relabel(ofInitech.keyId, null);
    apps.splice(apps.indexOf(app), 1);
    await app.close();
    expect(await caught(() => start())).toBeInstanceOf(KeyringIntegrityError);
  });

  it("refuses to import a tenant's key as the keyring's: a destroyed tenant stays destroyed", async () => {
    const { kms } = await start();
    const ofA = await kms.encryptData('secret of acme', { tenant: 'acme' });
    const exported = await kms.exportKeyring();
    await kms.destroyTenant('acme', { confirm: 'acme' });
    const tenantKeysAsTheKeyrings = (exported.tenantKeys ?? []).map(
      ({ tenant: _tenant, ...key }) => key,
    );
    expect(tenantKeysAsTheKeyrings).toHaveLength(1);

    const error = await caught(() =>
      kms.importKeyring({
        ...exported,
        dataKeys: [...exported.dataKeys, ...tenantKeysAsTheKeyrings],
      }),
    );
    expect(error).toBeInstanceOf(InvalidExportError);
    expect(error).toMatchObject({ code: 'KMS_INVALID_EXPORT' });
    expect(await caught(() => kms.decryptData(ofA))).toBeInstanceOf(TenantMismatchError);
    expect(await caught(() => kms.decryptData(ofA, { tenant: 'acme' }))).toBeInstanceOf(
      DataKeyNotFoundError,
    );
    expect((await storedKeys()).filter((key) => key.id === ofA.keyId)).toEqual([]);
  });

  it("destroys a tenant's keys only when confirmed: its envelopes become unreadable for good, others' are untouched", async () => {
    let app = await start();
    const ofA = await app.kms.encryptData('acme 1', { tenant: 'acme' });
    await app.kms.rotateTenantKey('acme');
    const ofA2 = await app.kms.encryptToString('acme 2', { tenant: 'acme' });
    const ofB = await app.kms.encryptData('globex', { tenant: 'globex' });
    const own = await app.kms.encryptData('own');
    const notes = app.dataSource.getRepository(NoteEntity);
    await notes.insert([
      { id: 'a1', body: ofA2 },
      { id: 'a2', body: await app.kms.encryptToString('acme 3', { tenant: 'acme' }) },
      { id: 'b1', body: await app.kms.encryptToString('globex 2', { tenant: 'globex' }) },
      { id: 'o1', body: await app.kms.encryptToString('own 2') },
    ]);

    const refused = await caught(() =>
      app.kms.destroyTenant('acme', undefined as unknown as { confirm: string }),
    );
    expect(refused).toBeInstanceOf(TenantDestructionNotConfirmedError);
    expect(refused).toMatchObject({ code: 'KMS_TENANT_DESTRUCTION_NOT_CONFIRMED' });
    expect(await caught(() => app.kms.destroyTenant('acme', { confirm: 'globex' }))).toBeInstanceOf(
      TenantDestructionNotConfirmedError,
    );
    expect(await app.kms.decryptData(ofA, { tenant: 'acme' })).toBe('acme 1');

    const destruction = await app.kms.destroyTenant('acme', { confirm: 'acme' });
    expect(destruction).toEqual({ tenant: 'acme', keysDestroyed: 2, envelopesUnreadable: 2 });
    expect(await caught(() => app.kms.decryptData(ofA, { tenant: 'acme' }))).toBeInstanceOf(
      DataKeyNotFoundError,
    );
    expect(() => app.kms.decryptDataSync(ofA2, { tenant: 'acme' })).toThrow(
      DataKeyNotInMemoryError,
    );
    app = await restart(app);
    expect(await caught(() => app.kms.decryptData(ofA2, { tenant: 'acme' }))).toBeInstanceOf(
      DataKeyNotFoundError,
    );
    expect(await app.kms.decryptData(ofB, { tenant: 'globex' })).toBe('globex');
    expect(await app.kms.decryptData(own)).toBe('own');
    expect((await storedKeys()).map((key) => key.tenant).filter(Boolean)).toHaveLength(1);
    // A tenant id used again starts afresh under a new key; the old envelopes stay unreadable.
    const fresh = await app.kms.encryptData('new acme', { tenant: 'acme' });
    expect(await app.kms.decryptData(fresh, { tenant: 'acme' })).toBe('new acme');
    expect(await caught(() => app.kms.decryptData(ofA, { tenant: 'acme' }))).toBeInstanceOf(
      DataKeyNotFoundError,
    );
  });

  it("a master-key rotation re-wraps tenants' keys with the keyring's: they open under the new master key alone", async () => {
    let app = await start();
    const ofA = await app.kms.encryptData('acme', { tenant: 'acme' });
    await app.kms.rotateTenantKey('acme');
    const ofA2 = await app.kms.encryptData('acme 2', { tenant: 'acme' });
    masterKey = newMasterKey();
    expect((await app.kms.rotateMasterKey(masterKey)).rewrapped).toBe(3);
    app = await restart(app);
    expect(await app.kms.decryptData(ofA, { tenant: 'acme' })).toBe('acme');
    expect(await app.kms.decryptData(ofA2, { tenant: 'acme' })).toBe('acme 2');
  });

  it("re-encryption moves a rotated tenant's envelopes to its new key, leaves the others' as they are, and counts a destroyed tenant's as failed without retrying them", async () => {
    const app = await start();
    const notes = app.dataSource.getRepository(NoteEntity);
    const acmeBody = await app.kms.encryptToString('acme note', { tenant: 'acme' });
    const globexBody = await app.kms.encryptToString('globex note', { tenant: 'globex' });
    const initechBody = await app.kms.encryptToString('initech note', { tenant: 'initech' });
    await notes.insert([
      { id: 'a', body: acmeBody },
      { id: 'g', body: globexBody },
      { id: 'i', body: initechBody },
      { id: 'o', body: await app.kms.encryptToString('own note') },
    ]);
    const body = async (id: string) => (await notes.findOneByOrFail({ id })).body!;
    const keyIdOf = (compact: string) => compact.split('.')[1];
    const acmeKey = (await app.kms.rotateTenantKey('acme')).keyId;
    const ownKey = (await app.kms.rotateDataKey()).keyId;
    await app.kms.destroyTenant('initech', { confirm: 'initech' });
    const keysBefore = (await storedKeys()).length;

    const since = CapturedLogger.everything.length;
    const result = await app.kms.reencrypt();
    // Acme's and the keyring's own note moved; initech's (its keys gone) failed, left as it is.
    expect(result).toMatchObject({ ran: true, moved: 2, failed: 1, remaining: 1 });
    expect(keyIdOf(await body('a'))).toBe(acmeKey);
    expect(keyIdOf(await body('o'))).toBe(ownKey);
    expect(await body('g')).toBe(globexBody);
    expect(await body('i')).toBe(initechBody);
    const movedAcme = await body('a');
    expect(await app.kms.decryptData(movedAcme, { tenant: 'acme' })).toBe('acme note');
    for (const other of [{ tenant: 'globex' }, {}]) {
      const error = await caught(() => app.kms.decryptData(movedAcme, other));
      expect(error).toBeInstanceOf(TenantMismatchError);
    }
    expect(await app.kms.decryptData(await body('g'), { tenant: 'globex' })).toBe('globex note');
    expect(await app.kms.decryptData(await body('o'))).toBe('own note');
    // Nothing made: re-encryption reads tenants' keys, it never makes one.
    expect(await storedKeys()).toHaveLength(keysBefore);
    const failures = loggedEvents('reencryption_failed', since);
    expect(failures).toEqual([
      expect.objectContaining({
        column: 'test_notes.body',
        code: 'KMS_DATA_KEY_NOT_FOUND',
        envelopes: 1,
      }),
    ]);

    // A second run moves nothing, counts initech's envelope again, and does not log it again.
    expect(await app.kms.reencrypt()).toMatchObject({ moved: 0, failed: 1, remaining: 1 });
    expect(loggedEvents('reencryption_failed', since)).toHaveLength(1);
    // The scheduler rests: the last run left nothing it could move.
    const last = app.kms.getStatus().lastReencryption;
    await app.kms.runLifecycle();
    expect(app.kms.getStatus().lastReencryption).toBe(last);
    // Until a tenant's key is rotated again.
    await app.kms.rotateTenantKey('globex');
    await app.kms.runLifecycle();
    expect(app.kms.getStatus().lastReencryption).toMatchObject({ moved: 1, failed: 1 });
    expect(await app.kms.decryptData(await body('g'), { tenant: 'globex' })).toBe('globex note');
    expect(await body('g')).not.toBe(globexBody);
  });
});
