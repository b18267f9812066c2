import { randomBytes } from 'node:crypto';
import {
  DataKeyNotFoundError,
  KmsDataKeyEntity,
  KmsMasterKeyWrapEntity,
  MasterKeyUnavailableError,
  TenantMismatchError,
  type KmsModuleOptions,
} from '@nest-kms/kms';
import { caught } from './support/caught.js';
import { eventually } from './support/eventually.js';
import { ENGINES } from './support/databases.js';
import { FaultyMasterKey } from './support/faulty-master-key.js';
import {
  kmsAppsPerTest,
  lifecycleByHand,
  newMasterKey,
  type KmsApp,
} from './support/kms-fixture.js';
import { openKmsTables } from './support/kms-tables.js';
import { SqlRecorder } from './support/sql-recorder.js';

/**
 * What a tenant's keys not found costs, and what it must not cost: a miss is remembered for a
 * few seconds (junk envelopes cannot turn into a read each), but never outlives what it says.
 */
describe.each(ENGINES)("misses of tenants' keys on %s", (engine) => {
  const apps = kmsAppsPerTest(engine);
  let now = Date.now();
  const clock = () => now;
  let masterKey: string;

  beforeEach(() => {
    now = Date.now();
    masterKey = newMasterKey();
  });

  const start = (options: Partial<KmsModuleOptions> = {}): Promise<KmsApp> =>
    apps.start(masterKey, { ...lifecycleByHand(clock), ...options });

  /** A tenant key of acme's own, over `bytes` (two instances: two replicas' view of one key). */
  const acmeOnly = (key: FaultyMasterKey, recheckAfterMs = 600_000) => ({
    tenantMasterKeys: {
      providerFor: (tenant: string) => (tenant === 'acme' ? key : undefined),
      recheckAfterMs,
    },
  });

  it("reads the store once, and asks no tenant's KMS, for repeated envelopes naming a forged key id of a tenant or a tenant without keys", async () => {
    const sql = new SqlRecorder();
    const asked: string[] = [];
    const acmeKey = new FaultyMasterKey(randomBytes(32));
    const { kms } = await start({
      connection: sql.attach(apps.db().connection),
      tenantMasterKeys: {
        providerFor: (tenant) => {
          asked.push(tenant);
          return tenant === 'acme' ? acmeKey : undefined;
        },
      },
    });
    const ofAcme = await kms.encryptData('invoice of acme', { tenant: 'acme' });
    const forged = { ...ofAcme, keyId: `${ofAcme.keyId.slice(0, 26)}${'A'.repeat(22)}` };
    const statements = sql.mark();
    const readsOfKeys = () =>
      statements().filter(({ query }) => query.includes('kms_data_keys')).length;
    const unwrapsBefore = acmeKey.calls.unwrap;
    asked.length = 0;

    for (let i = 0; i < 20; i++) {
      expect(await caught(() => kms.decryptData(forged, { tenant: 'acme' }))).toBeInstanceOf(
        DataKeyNotFoundError,
      );
      expect(await caught(() => kms.decryptData(ofAcme, { tenant: 'nobody' }))).toBeInstanceOf(
        TenantMismatchError,
      );
    }
    expect(readsOfKeys()).toBe(2);
    expect(asked).toEqual(['nobody']);
    expect(acmeKey.calls.unwrap).toBe(unwrapsBefore);

    // Remembered for a few seconds only.
    now += 5_001;
    await caught(() => kms.decryptData(forged, { tenant: 'acme' }));
    expect(readsOfKeys()).toBe(3);
    // A tenant found without keys gets its first on its first seal, at once.
    const ofNobody = await kms.encryptData('first of nobody', { tenant: 'nobody' });
    expect(await kms.decryptData(ofNobody, { tenant: 'nobody' })).toBe('first of nobody');
  });

  it("makes a tenant's key under its own master key when it is rotated just after the tenant was found without keys", async () => {
    const acmeKey = new FaultyMasterKey(randomBytes(32));
    const { kms } = await start({ additionalMasterKeys: [newMasterKey()], ...acmeOnly(acmeKey) });
    const before = await kms.encryptData('before', { tenant: 'acme' });
    await kms.destroyTenant('acme', { confirm: 'acme' });
    expect(await caught(() => kms.decryptData(before, { tenant: 'acme' }))).toBeInstanceOf(
      DataKeyNotFoundError,
    );

    const { keyId } = await kms.rotateTenantKey('acme');

    const tables = await openKmsTables(apps.db());
    try {
      const row = await tables.getRepository(KmsDataKeyEntity).findOneByOrFail({ id: keyId });
      expect(row.masterKeyFingerprint).toBe(await acmeKey.fingerprint());
      expect(await tables.getRepository(KmsMasterKeyWrapEntity).findBy({ keyId })).toEqual([]);
    } finally {
      await tables.destroy();
    }
  });

  it("keeps no miss for a key a read found, nor for a read that failed: the tenant's other keys and a retry open", async () => {
    const bytes = randomBytes(32);
    const mine = new FaultyMasterKey(bytes);
    const a = await start(acmeOnly(mine, 1_000));
    const b = await start(acmeOnly(new FaultyMasterKey(bytes), 1_000));
    const old = await a.kms.encryptData('old invoice', { tenant: 'acme' });
    await b.kms.rotateTenantKey('acme');
    const fresh = await b.kms.encryptData('new invoice', { tenant: 'acme' });

    // A read that found another replica's key: the tenant's keys, due for their recheck
    // moments later, load again and open.
    expect(await a.kms.decryptData(fresh, { tenant: 'acme' })).toBe('new invoice');
    now += 1_001;
    expect(await a.kms.decryptData(old, { tenant: 'acme' })).toBe('old invoice');

    // A read that failed (the tenant's KMS down) says nothing of the key: retryable while it
    // lasts, and the key opens once the KMS is back.
    await b.kms.rotateTenantKey('acme');
    const newest = await b.kms.encryptData('newest invoice', { tenant: 'acme' });
    now += 1_001;
    mine.down = true;
    for (let attempt = 0; attempt < 2; attempt++) {
      expect(await caught(() => a.kms.decryptData(newest, { tenant: 'acme' }))).toBeInstanceOf(
        MasterKeyUnavailableError,
      );
    }
    mine.down = false;
    expect(await a.kms.decryptData(newest, { tenant: 'acme' })).toBe('newest invoice');
  });

  it("holds no key a load read before a destroyTenant that ended while the load was under way: the tenant's next seal gets a new key", async () => {
    const bytes = randomBytes(32);
    const mine = new FaultyMasterKey(bytes);
    const a = await start(acmeOnly(mine));
    const b = await start(acmeOnly(new FaultyMasterKey(bytes)));
    const before = await b.kms.encryptData('before', { tenant: 'acme' });

    // A's load of acme has read its rows and waits on the tenant's KMS to unwrap them...
    mine.latencyMs = 300;
    const unwrapsBefore = mine.calls.unwrap;
    const opening = caught(() => a.kms.decryptData(before, { tenant: 'acme' }));
    await eventually(() => expect(mine.calls.unwrap).toBeGreaterThan(unwrapsBefore));
    // ...while A destroys the tenant.
    expect(await a.kms.destroyTenant('acme', { confirm: 'acme' })).toMatchObject({
      keysDestroyed: 1,
    });
    mine.latencyMs = 0;

    expect(await opening).toBeInstanceOf(DataKeyNotFoundError);
    const after = await a.kms.encryptData('after', { tenant: 'acme' });
    expect(after.keyId).not.toBe(before.keyId);
    expect(await b.kms.decryptData(after, { tenant: 'acme' })).toBe('after');
  });
});
