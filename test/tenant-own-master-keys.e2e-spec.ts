import { randomBytes } from 'node:crypto';
import { awsKmsMasterKey, type AwsKmsMasterKeyProvider } from '@nest-kms/aws-kms';
import {
  KEYRING_MASTER_KEY,
  KeyringIntegrityError,
  KmsConfigurationError,
  KmsDataKeyEntity,
  KmsMasterKeyWrapEntity,
  LocalMasterKeyProvider,
  MasterKeyProviderError,
  MasterKeyUnavailableError,
  type KmsModuleOptions,
  type KmsTenantMasterKeyOptions,
  type MasterKeyProvider,
  type TenantMasterKeyAnswer,
} from '@nest-kms/kms';
import { CapturedLogger, loggedEvents } from './support/captured-logger.js';
import { caught } from './support/caught.js';
import { eventually } from './support/eventually.js';
import { ENGINES } from './support/databases.js';
import { FakeAwsKms, KMS_FAULTS } from './support/fake-aws-kms.js';
import { FaultyMasterKey } from './support/faulty-master-key.js';
import {
  kmsAppsPerTest,
  lifecycleByHand,
  newMasterKey,
  type KmsApp,
} from './support/kms-fixture.js';
import { openKmsTables } from './support/kms-tables.js';
import { NoteEntity, startNotesApp } from './support/notes-fixture.js';

const credentials = {
  accessKeyId: 'AKIATEST',
  secretAccessKey: randomBytes(30).toString('base64'),
};
const RECHECK_MS = 60_000;

let fake: FakeAwsKms;
const made: AwsKmsMasterKeyProvider[] = [];

beforeAll(async () => {
  fake = await FakeAwsKms.start();
});

afterAll(async () => {
  for (const provider of made) await provider.destroy?.();
  await fake.close();
});

/** A provider for a tenant's own AWS KMS key, on the double. */
function awsKey(keyArn: string): AwsKmsMasterKeyProvider {
  const provider = awsKmsMasterKey({
    keyId: keyArn,
    region: FakeAwsKms.PRIMARY_REGION,
    endpoint: fake.endpoint,
    credentials,
    connectTimeoutMs: 1_000,
    requestTimeoutMs: 2_000,
  });
  made.push(provider);
  return provider;
}

/** tenantMasterKeys answering from `keys` (tenant → its providers), as an application's table would. */
function tenantKeys(keys: Map<string, TenantMasterKeyAnswer>): KmsTenantMasterKeyOptions {
  return { providerFor: (tenant) => keys.get(tenant), recheckAfterMs: RECHECK_MS };
}

const fingerprintOf = (arn: string) => `aws-kms:${arn}`;

describe.each(ENGINES)("tenants' own master keys (bring your own key) on %s", (engine) => {
  const apps = kmsAppsPerTest(engine);
  let now = Date.now();
  const clock = () => now;
  let masterKey: string;
  let acmeArn: string;

  beforeEach(() => {
    now = Date.now();
    masterKey = newMasterKey();
    acmeArn = fake.addKey({});
  });

  const start = (options: Partial<KmsModuleOptions> = {}): Promise<KmsApp> =>
    apps.start(masterKey, { ...lifecycleByHand(clock), ...options });

  const tables = async <T>(
    work: (rows: { keys: KmsDataKeyEntity[]; wraps: KmsMasterKeyWrapEntity[] }) => T,
  ): Promise<T> => {
    const dataSource = await openKmsTables(apps.db());
    try {
      return work({
        keys: await dataSource.getRepository(KmsDataKeyEntity).find(),
        wraps: await dataSource.getRepository(KmsMasterKeyWrapEntity).find(),
      });
    } finally {
      await dataSource.destroy();
    }
  };
  const keysOfTenant = (keys: KmsDataKeyEntity[], keyId: string) =>
    keys.filter((key) => key.tenant !== null && keyId.startsWith(`tk-${key.tenant}-`));

  it("wraps a tenant's keys under its own key alone, others' under the keyring's, and opens both after a restart", async () => {
    const additional = newMasterKey();
    const acme = awsKey(acmeArn);
    const options = {
      tenantMasterKeys: tenantKeys(new Map([['acme', acme]])),
      additionalMasterKeys: [additional],
    };
    const first = await start(options);
    const ofAcme = await first.kms.encryptData('invoice of acme', { tenant: 'acme' });
    const ofGlobex = await first.kms.encryptData('invoice of globex', { tenant: 'globex' });
    await first.kms.rotateTenantKey('acme');
    const newerOfAcme = await first.kms.encryptData('newer invoice', { tenant: 'acme' });

    await tables(({ keys, wraps }) => {
      const acmeKeys = keysOfTenant(keys, ofAcme.keyId);
      expect(acmeKeys).toHaveLength(2);
      for (const key of acmeKeys) expect(key.masterKeyFingerprint).toBe(fingerprintOf(acmeArn));
      const [globexKey] = keysOfTenant(keys, ofGlobex.keyId);
      expect(globexKey.masterKeyFingerprint).toMatch(/^local:/);
      // The keyring's additional master key wraps globex's key, never acme's.
      const wrapped = new Set(wraps.map((wrap) => wrap.keyId));
      expect(wrapped.has(globexKey.id)).toBe(true);
      for (const key of acmeKeys) expect(wrapped.has(key.id)).toBe(false);
    });
    await first.close();

    const decryptsBefore = fake.calls.Decrypt ?? 0;
    const second = await start(options);
    expect(await second.kms.decryptData(ofAcme, { tenant: 'acme' })).toBe('invoice of acme');
    expect(await second.kms.decryptData(newerOfAcme, { tenant: 'acme' })).toBe('newer invoice');
    expect(await second.kms.decryptData(ofGlobex, { tenant: 'globex' })).toBe('invoice of globex');
    // acme's two keys were unwrapped by its key, once each, on acme's first use.
    expect((fake.calls.Decrypt ?? 0) - decryptsBefore).toBe(2);
    // The additional wraps' catch-up leaves acme's keys alone.
    await second.kms.runLifecycle();
    await tables(({ keys, wraps }) => {
      const acmeIds = new Set(keysOfTenant(keys, ofAcme.keyId).map((key) => key.id));
      expect(acmeIds.size).toBe(2);
      expect(wraps.filter((wrap) => acmeIds.has(wrap.keyId))).toEqual([]);
    });
  });

  it("stops a tenant's data from opening once it disables its key and the recheck time passes, touching no other tenant, and opens it again once re-enabled", async () => {
    const { kms } = await start({
      tenantMasterKeys: tenantKeys(new Map([['acme', awsKey(acmeArn)]])),
    });
    const ofAcme = await kms.encryptData('invoice of acme', { tenant: 'acme' });
    const ofGlobex = await kms.encryptData('invoice of globex', { tenant: 'globex' });
    const shared = await kms.encryptData('not a tenant');

    fake.setKeyState(acmeArn, 'Disabled');
    // Until the recheck, what this process holds still serves (the documented window).
    expect(await kms.decryptData(ofAcme, { tenant: 'acme' })).toBe('invoice of acme');
    now += RECHECK_MS;

    const refused = await caught(() => kms.decryptData(ofAcme, { tenant: 'acme' }));
    expect(refused).toBeInstanceOf(MasterKeyProviderError);
    expect(refused.message).not.toContain(credentials.secretAccessKey);
    expect(await caught(() => kms.encryptData('more', { tenant: 'acme' }))).toBeInstanceOf(
      MasterKeyProviderError,
    );
    expect(() => kms.decryptDataSync(ofAcme, { tenant: 'acme' })).toThrow(
      expect.objectContaining({ code: 'KMS_DATA_KEY_NOT_IN_MEMORY' }),
    );
    expect(await kms.decryptData(ofGlobex, { tenant: 'globex' })).toBe('invoice of globex');
    expect(await kms.decryptData(shared)).toBe('not a tenant');

    fake.setKeyState(acmeArn, 'Enabled');
    expect(await kms.decryptData(ofAcme, { tenant: 'acme' })).toBe('invoice of acme');
  });

  it("zeroes a tenant's keys on the scheduled check once the recheck time has passed, without waiting for its next call", async () => {
    const { kms } = await start({
      tenantMasterKeys: tenantKeys(new Map([['acme', awsKey(acmeArn)]])),
    });
    const ofAcme = await kms.encryptData('invoice of acme', { tenant: 'acme' });
    await kms.encryptData('invoice of globex', { tenant: 'globex' });
    expect(kms.getStatus().tenantsInMemory).toBe(2);
    now += RECHECK_MS - 1;
    await kms.runLifecycle();
    expect(kms.getStatus().tenantsInMemory).toBe(2);
    now += 1;
    await kms.runLifecycle();
    // acme's keys are gone from memory; globex, under the keyring's master key, stays.
    expect(kms.getStatus().tenantsInMemory).toBe(1);
    expect(await kms.decryptData(ofAcme, { tenant: 'acme' })).toBe('invoice of acme');
    expect(kms.getStatus().tenantsInMemory).toBe(2);
  });

  it('counts the seals of keys dropped from memory before their flush', async () => {
    const { kms } = await start({
      tenantMasterKeys: tenantKeys(new Map([['acme', awsKey(acmeArn)]])),
      rotation: { checkIntervalMs: 0, usageFlushEvery: 1_000 },
    });
    const first = await kms.encryptData('one', { tenant: 'acme' });
    await kms.encryptData('two', { tenant: 'acme' });
    now += RECHECK_MS;
    // acme's keys expire on this call and are read again; the two seals before must not vanish.
    await kms.encryptData('three', { tenant: 'acme' });
    await kms.runLifecycle();
    const encryptions = await tables(({ keys }) =>
      Number(keys.find((key) => key.id === first.keyId)!.encryptions),
    );
    expect(encryptions).toBe(3);
  });

  it("fails only that tenant, with a retryable error, while its key's service does not answer", async () => {
    const { kms } = await start({
      tenantMasterKeys: tenantKeys(new Map([['acme', awsKey(acmeArn)]])),
    });
    const ofAcme = await kms.encryptData('invoice of acme', { tenant: 'acme' });
    const ofGlobex = await kms.encryptData('invoice of globex', { tenant: 'globex' });
    now += RECHECK_MS;

    fake.inject(KMS_FAULTS.throttling, 1);
    const unavailable = await caught(() => kms.decryptData(ofAcme, { tenant: 'acme' }));
    expect(unavailable).toBeInstanceOf(MasterKeyUnavailableError);
    expect(unavailable).toMatchObject({ retryable: true });
    expect(await kms.decryptData(ofGlobex, { tenant: 'globex' })).toBe('invoice of globex');
    expect(await kms.decryptData(ofAcme, { tenant: 'acme' })).toBe('invoice of acme');
  });

  it("moves a tenant's existing keys under the key it brings, after which the keyring's master key alone no longer opens them", async () => {
    const additional = newMasterKey();
    const before = await start({ additionalMasterKeys: [additional] });
    const ofAcme = await before.kms.encryptData('invoice of acme', { tenant: 'acme' });
    await before.kms.rotateTenantKey('acme');
    const newer = await before.kms.encryptData('newer invoice', { tenant: 'acme' });
    await before.close();
    const acmeIds = await tables(({ keys }) => keysOfTenant(keys, ofAcme.keyId).map((k) => k.id));
    expect(acmeIds).toHaveLength(2);

    const since = CapturedLogger.everything.length;
    const options = {
      tenantMasterKeys: tenantKeys(new Map([['acme', awsKey(acmeArn)]])),
      additionalMasterKeys: [additional],
    };
    const bringing = await start(options);
    expect(await bringing.kms.decryptData(ofAcme, { tenant: 'acme' })).toBe('invoice of acme');
    await tables(({ keys, wraps }) => {
      for (const key of keysOfTenant(keys, ofAcme.keyId)) {
        expect(key.masterKeyFingerprint).toBe(fingerprintOf(acmeArn));
      }
      expect(wraps.filter((wrap) => acmeIds.includes(wrap.keyId))).toEqual([]);
    });
    expect(loggedEvents('tenant_keys_rewrapped', since)).toEqual([
      expect.objectContaining({
        keyIds: expect.arrayContaining(acmeIds),
        masterKeyFingerprint: fingerprintOf(acmeArn),
      }),
    ]);
    await bringing.close();

    // Without the tenant's key, neither the keyring's master key nor its additional one opens them.
    const without = await start({ additionalMasterKeys: [additional] });
    expect(await caught(() => without.kms.decryptData(newer, { tenant: 'acme' }))).toBeInstanceOf(
      KeyringIntegrityError,
    );
    await without.close();
    const again = await start(options);
    expect(await again.kms.decryptData(newer, { tenant: 'acme' })).toBe('newer invoice');
  });

  it("asks again every recheckAfterMs whether a tenant held under the keyring's key has brought its own: its keys move under it, and its revocation then reaches this process", async () => {
    const answers = new Map<string, TenantMasterKeyAnswer>();
    const { kms } = await start({
      additionalMasterKeys: [newMasterKey()],
      tenantMasterKeys: tenantKeys(answers),
    });
    const ofAcme = await kms.encryptData('invoice of acme', { tenant: 'acme' });
    const acmeRows = () =>
      tables(({ keys, wraps }) =>
        keysOfTenant(keys, ofAcme.keyId).map((key) => ({
          fingerprint: key.masterKeyFingerprint,
          wraps: wraps.filter((wrap) => wrap.keyId === key.id).length,
        })),
      );

    // The tenant brings its key (the application's table says so from now on).
    answers.set('acme', awsKey(acmeArn));
    now += RECHECK_MS;
    await eventually(async () => {
      expect(await kms.decryptData(ofAcme, { tenant: 'acme' })).toBe('invoice of acme');
      expect(await acmeRows()).toEqual([{ fingerprint: fingerprintOf(acmeArn), wraps: 0 }]);
    });

    fake.setKeyState(acmeArn, 'Disabled');
    try {
      now += RECHECK_MS + 1;
      expect(await caught(() => kms.decryptData(ofAcme, { tenant: 'acme' }))).toBeInstanceOf(
        MasterKeyProviderError,
      );
    } finally {
      fake.setKeyState(acmeArn, 'Enabled');
    }
  });

  it("makes a rotated key under the key a tenant held under the keyring's has brought since, without waiting for the recheck", async () => {
    const answers = new Map<string, TenantMasterKeyAnswer>();
    const { kms } = await start({
      additionalMasterKeys: [newMasterKey()],
      tenantMasterKeys: tenantKeys(answers),
    });
    await kms.encryptData('invoice of acme', { tenant: 'acme' });
    answers.set('acme', awsKey(acmeArn));

    const { keyId } = await kms.rotateTenantKey('acme');

    await tables(({ keys, wraps }) => {
      expect(keys.find((key) => key.id === keyId)!.masterKeyFingerprint).toBe(
        fingerprintOf(acmeArn),
      );
      expect(wraps.filter((wrap) => wrap.keyId === keyId)).toEqual([]);
    });
  });

  it('moves a tenant from one of its keys to another when it names both, the new one first', async () => {
    const oldKey = awsKey(acmeArn);
    const first = await start({ tenantMasterKeys: tenantKeys(new Map([['acme', oldKey]])) });
    const ofAcme = await first.kms.encryptData('invoice of acme', { tenant: 'acme' });
    await first.close();

    const newArn = fake.addKey({});
    const second = await start({
      tenantMasterKeys: tenantKeys(new Map([['acme', [awsKey(newArn), oldKey]]])),
    });
    expect(await second.kms.decryptData(ofAcme, { tenant: 'acme' })).toBe('invoice of acme');
    await tables(({ keys }) => {
      for (const key of keysOfTenant(keys, ofAcme.keyId)) {
        expect(key.masterKeyFingerprint).toBe(fingerprintOf(newArn));
      }
    });
    await second.close();

    fake.setKeyState(acmeArn, 'Disabled');
    const third = await start({
      tenantMasterKeys: tenantKeys(new Map([['acme', awsKey(newArn)]])),
    });
    expect(await third.kms.decryptData(ofAcme, { tenant: 'acme' })).toBe('invoice of acme');
    fake.setKeyState(acmeArn, 'Enabled');
  });

  it("moves a tenant back under the keyring's master key when KEYRING_MASTER_KEY comes first, wrapped under the additional master keys too, after which its own key is not needed", async () => {
    const acme = awsKey(acmeArn);
    const additional = newMasterKey();
    const first = await start({
      tenantMasterKeys: tenantKeys(new Map([['acme', acme]])),
      additionalMasterKeys: [additional],
    });
    const ofAcme = await first.kms.encryptData('invoice of acme', { tenant: 'acme' });
    await first.kms.rotateTenantKey('acme');
    const newer = await first.kms.encryptData('newer invoice', { tenant: 'acme' });
    const ofGlobex = await first.kms.encryptData('invoice of globex', { tenant: 'globex' });
    await first.close();
    const keyringFingerprint = await tables(
      ({ keys }) => keysOfTenant(keys, ofGlobex.keyId)[0].masterKeyFingerprint,
    );

    const since = CapturedLogger.everything.length;
    let asked = 0;
    const leaving = await start({
      tenantMasterKeys: {
        providerFor: () => {
          asked++;
          return [KEYRING_MASTER_KEY, acme];
        },
        recheckAfterMs: RECHECK_MS,
      },
      additionalMasterKeys: [additional],
    });
    expect(await leaving.kms.decryptData(ofAcme, { tenant: 'acme' })).toBe('invoice of acme');
    const acmeIds = await tables(({ keys, wraps }) => {
      const acmeKeys = keysOfTenant(keys, ofAcme.keyId);
      expect(acmeKeys).toHaveLength(2);
      for (const key of acmeKeys) {
        expect(key.masterKeyFingerprint).toBe(keyringFingerprint);
        expect(wraps.filter((wrap) => wrap.keyId === key.id)).toHaveLength(1);
      }
      return acmeKeys.map((key) => key.id);
    });
    expect(loggedEvents('tenant_keys_rewrapped', since)).toEqual([
      expect.objectContaining({
        keyIds: expect.arrayContaining(acmeIds),
        masterKeyFingerprint: keyringFingerprint,
      }),
    ]);
    // Moved, its keys are the keyring's: past the recheck time, this process does not need the
    // tenant's key (switched off meanwhile) and keeps its keys.
    const askedOnLoad = asked;
    const decryptsBefore = fake.calls.Decrypt ?? 0;
    now += RECHECK_MS + 1;
    fake.setKeyState(acmeArn, 'Disabled');
    try {
      expect(await leaving.kms.decryptData(newer, { tenant: 'acme' })).toBe('newer invoice');
    } finally {
      fake.setKeyState(acmeArn, 'Enabled');
    }
    expect(fake.calls.Decrypt ?? 0).toBe(decryptsBefore);
    // Its answer is asked again (a local call), and names no key of its own to move to.
    await eventually(() => expect(asked).toBeGreaterThan(askedOnLoad));
    expect(await leaving.kms.decryptData(newer, { tenant: 'acme' })).toBe('newer invoice');
    expect(fake.calls.Decrypt ?? 0).toBe(decryptsBefore);
    await leaving.close();

    // The tenant's key is switched off; the keyring's master key, or a failover to its
    // additional one, opens acme's data with no tenantMasterKeys at all.
    fake.setKeyState(acmeArn, 'Disabled');
    try {
      const after = await start({ additionalMasterKeys: [additional] });
      expect(await after.kms.decryptData(newer, { tenant: 'acme' })).toBe('newer invoice');
      await after.close();
      const failedOver = await apps.start(additional, { clock, rotation: { checkIntervalMs: 0 } });
      expect(await failedOver.kms.decryptData(ofAcme, { tenant: 'acme' })).toBe('invoice of acme');
      expect(await failedOver.kms.decryptData(newer, { tenant: 'acme' })).toBe('newer invoice');
    } finally {
      fake.setKeyState(acmeArn, 'Enabled');
    }
  });

  it("opens a leaving tenant's data while the keyring's master key cannot take its keys (unreachable, or rotated by another replica), leaving the move to a later load", async () => {
    const primaryBytes = randomBytes(32);
    const additional = newMasterKey();
    const acme = awsKey(acmeArn);
    const leavingAcme = {
      tenantMasterKeys: tenantKeys(
        new Map<string, TenantMasterKeyAnswer>([['acme', [KEYRING_MASTER_KEY, acme]]]),
      ),
    };
    const first = await start({
      masterKey: new FaultyMasterKey(primaryBytes),
      additionalMasterKeys: [additional],
      tenantMasterKeys: tenantKeys(new Map([['acme', acme]])),
    });
    const ofAcme = await first.kms.encryptData('invoice of acme', { tenant: 'acme' });
    await first.close();
    const acmeRows = () =>
      tables(({ keys }) => keysOfTenant(keys, ofAcme.keyId).map((k) => k.masterKeyFingerprint));

    // The keyring's primary does not answer (it opens with its additional master key).
    const down = new FaultyMasterKey(primaryBytes);
    down.down = true;
    const unreachable = await start({
      masterKey: down,
      additionalMasterKeys: [additional],
      ...leavingAcme,
    });
    expect(await unreachable.kms.decryptData(ofAcme, { tenant: 'acme' })).toBe('invoice of acme');
    expect(await acmeRows()).toEqual([fingerprintOf(acmeArn)]);
    await unreachable.close();

    // Another replica rotated the keyring's master key after this one started.
    const stale = await start({ masterKey: new FaultyMasterKey(primaryBytes), ...leavingAcme });
    const rotator = await start({ masterKey: new FaultyMasterKey(primaryBytes) });
    await rotator.kms.rotateMasterKey(newMasterKey());
    expect(await stale.kms.decryptData(ofAcme, { tenant: 'acme' })).toBe('invoice of acme');
    expect(await acmeRows()).toEqual([fingerprintOf(acmeArn)]);
  });

  it('refuses KEYRING_MASTER_KEY anywhere but first in the answer', async () => {
    const acme = awsKey(acmeArn);
    const { kms } = await start({
      tenantMasterKeys: {
        providerFor: () => [acme, KEYRING_MASTER_KEY] as unknown as MasterKeyProvider[],
      },
    });
    const error = await caught(() => kms.encryptData('x', { tenant: 'acme' }));
    expect(error).toBeInstanceOf(KmsConfigurationError);
    expect(error.message).toContain('KEYRING_MASTER_KEY allowed first only');
    // Alone, it means the keyring's master key, as undefined does.
    const alone = await start({ tenantMasterKeys: { providerFor: () => [KEYRING_MASTER_KEY] } });
    const sealed = await alone.kms.encryptData('y', { tenant: 'acme' });
    expect(await alone.kms.decryptData(sealed, { tenant: 'acme' })).toBe('y');
  });

  it("never stores an additional wrap of a tenant's key that its own key took over while the wrap was being made", async () => {
    const first = await start();
    const ofAcme = await first.kms.encryptData('invoice of acme', { tenant: 'acme' });
    await first.close();

    // An additional master key whose wraps of tenants' keys wait for the test's word.
    const additional = LocalMasterKeyProvider.fromBase64(newMasterKey(), 'additional');
    let reached!: () => void;
    const wrapReached = new Promise<void>((resolve) => (reached = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const gated: MasterKeyProvider = {
      name: 'gated',
      fingerprint: () => additional.fingerprint(),
      unwrapDataKey: (wrapped, keyId) => additional.unwrapDataKey(wrapped, keyId),
      wrapDataKey: async (dataKey, keyId) => {
        const wrapped = await additional.wrapDataKey(dataKey, keyId);
        if (keyId.startsWith('tk-')) {
          reached();
          await released;
        }
        return wrapped;
      },
    };
    const acmeOwn = awsKey(acmeArn);
    const app = await start({
      additionalMasterKeys: [gated],
      tenantMasterKeys: tenantKeys(new Map([['acme', acmeOwn]])),
    });

    // The scheduled check wraps acme's stored key (still under the keyring's master key)...
    const check = app.kms.runLifecycle();
    await wrapReached;
    // ...while acme's first use moves it under acme's own key.
    expect(await app.kms.decryptData(ofAcme, { tenant: 'acme' })).toBe('invoice of acme');
    release();
    await check;

    await tables(({ keys, wraps }) => {
      const [acmeKey] = keysOfTenant(keys, ofAcme.keyId);
      expect(acmeKey.masterKeyFingerprint).toBe(fingerprintOf(acmeArn));
      expect(wraps.filter((wrap) => wrap.keyId === acmeKey.id)).toEqual([]);
    });
  });

  it("leaves a tenant's own-key rows alone when the keyring's master key rotates or fails over", async () => {
    const acme = awsKey(acmeArn);
    const additional = newMasterKey();
    const tenantMasterKeys = tenantKeys(new Map([['acme', acme]]));
    const first = await start({ tenantMasterKeys, additionalMasterKeys: [additional] });
    const ofAcme = await first.kms.encryptData('invoice of acme', { tenant: 'acme' });
    const ofGlobex = await first.kms.encryptData('invoice of globex', { tenant: 'globex' });
    await first.close();

    // Master-key rotation: the keyring moves to a new key; acme's rows stay under acme's.
    const rotatedTo = newMasterKey();
    const rotated = await apps.start(rotatedTo, {
      clock,
      previousMasterKey: masterKey,
      additionalMasterKeys: [additional],
      tenantMasterKeys,
      rotation: { checkIntervalMs: 0 },
    });
    expect(await rotated.kms.decryptData(ofAcme, { tenant: 'acme' })).toBe('invoice of acme');
    expect(await rotated.kms.decryptData(ofGlobex, { tenant: 'globex' })).toBe('invoice of globex');
    await tables(({ keys }) => {
      const [acmeKey] = keysOfTenant(keys, ofAcme.keyId);
      expect(acmeKey.masterKeyFingerprint).toBe(fingerprintOf(acmeArn));
    });
    await rotated.close();

    // Failover to the additional master key: acme's rows have no wrap under it, and need none.
    const failedOver = await apps.start(additional, {
      clock,
      tenantMasterKeys,
      rotation: { checkIntervalMs: 0 },
    });
    expect(await failedOver.kms.decryptData(ofAcme, { tenant: 'acme' })).toBe('invoice of acme');
    expect(await failedOver.kms.decryptData(ofGlobex, { tenant: 'globex' })).toBe(
      'invoice of globex',
    );
  });

  it('destroys a tenant under its own key like any other: its envelopes stop opening for good', async () => {
    const { kms } = await start({
      tenantMasterKeys: tenantKeys(new Map([['acme', awsKey(acmeArn)]])),
    });
    const ofAcme = await kms.encryptData('invoice of acme', { tenant: 'acme' });
    const destruction = await kms.destroyTenant('acme', { confirm: 'acme' });
    expect(destruction).toMatchObject({ tenant: 'acme', keysDestroyed: 1 });
    expect(await caught(() => kms.decryptData(ofAcme, { tenant: 'acme' }))).toMatchObject({
      code: 'KMS_DATA_KEY_NOT_FOUND',
    });
  });

  it("re-encryption leaves a tenant under its own master key where it is, and moves the other tenants'", async () => {
    const notes = await startNotesApp(apps.db(), masterKey, {
      tenantMasterKeys: tenantKeys(new Map([['acme', awsKey(acmeArn)]])),
      rotation: { checkIntervalMs: 0 },
      reencryption: { auto: false },
      masterKeyCalls: { attempts: 1, backoffMs: 0 },
    });
    try {
      const acmeBody = await notes.kms.encryptToString('acme note', { tenant: 'acme' });
      const globexBody = await notes.kms.encryptToString('globex note', { tenant: 'globex' });
      const table = notes.dataSource.getRepository(NoteEntity);
      await table.insert([
        { id: 'a', body: acmeBody },
        { id: 'g', body: globexBody },
      ]);
      await notes.kms.rotateTenantKey('acme');
      const globexKey = (await notes.kms.rotateTenantKey('globex')).keyId;
      const decryptsBefore = fake.calls.Decrypt ?? 0;

      // Acme's keys open only through providerFor('acme'), and re-encryption knows tags, not
      // names: acme's envelope is not selected, counted, or opened.
      expect(await notes.kms.reencrypt()).toMatchObject({ moved: 1, failed: 0, remaining: 0 });
      expect((await table.findOneByOrFail({ id: 'a' })).body).toBe(acmeBody);
      const movedGlobex = (await table.findOneByOrFail({ id: 'g' })).body!;
      expect(movedGlobex.split('.')[1]).toBe(globexKey);
      expect(fake.calls.Decrypt ?? 0).toBe(decryptsBefore);
      expect(await notes.kms.decryptData(acmeBody, { tenant: 'acme' })).toBe('acme note');
      expect(await notes.kms.decryptData(movedGlobex, { tenant: 'globex' })).toBe('globex note');
    } finally {
      await notes.close();
    }
  });

  it("fails a tenant not in memory, typed and retryable, while the application's providerFor throws, and never repeats what it threw", async () => {
    const leakedInLookup = `tenant table password ${randomBytes(9).toString('hex')}`;
    let lookupDown = false;
    const acmeKey = awsKey(acmeArn);
    const since = CapturedLogger.everything.length;
    const { kms } = await start({
      tenantMasterKeys: {
        providerFor: (tenant) => {
          if (lookupDown) throw new TypeError(leakedInLookup);
          return tenant === 'acme' ? acmeKey : undefined;
        },
        recheckAfterMs: RECHECK_MS,
      },
    });
    const ofAcme = await kms.encryptData('invoice of acme', { tenant: 'acme' });
    const ofGlobex = await kms.encryptData('invoice of globex', { tenant: 'globex' });
    const tenantKeyCount = () =>
      tables(({ keys }) => keys.filter((key) => key.tenant !== null).length);
    const keysBefore = await tenantKeyCount();
    now += RECHECK_MS;
    lookupDown = true;

    const error = await caught(() => kms.decryptData(ofAcme, { tenant: 'acme' }));
    expect(error).toBeInstanceOf(MasterKeyUnavailableError);
    expect(error).toMatchObject({
      code: 'KMS_MASTER_KEY_UNAVAILABLE',
      retryable: true,
      provider: 'tenantMasterKeys.providerFor',
    });
    expect(error.message).toContain('TypeError thrown for tenant "acme"');
    expect(error.message).not.toContain(leakedInLookup);
    // Globex, under the keyring's key and in memory, is not asked again; a new tenant is, and
    // gets no key while the answer is missing.
    expect(await kms.decryptData(ofGlobex, { tenant: 'globex' })).toBe('invoice of globex');
    const newTenant = await caught(() =>
      kms.encryptData('first of initech', { tenant: 'initech' }),
    );
    expect(newTenant).toBeInstanceOf(MasterKeyUnavailableError);
    expect(await tenantKeyCount()).toBe(keysBefore);

    lookupDown = false;
    expect(await kms.decryptData(ofAcme, { tenant: 'acme' })).toBe('invoice of acme');
    expect(JSON.stringify(CapturedLogger.everything.slice(since))).not.toContain(leakedInLookup);
  });

  it("refuses an answer that is not a provider, and the keyring's own master key named as a tenant's", async () => {
    const { kms } = await start({
      tenantMasterKeys: {
        providerFor: (tenant) =>
          tenant === 'odd'
            ? ({ wrapDataKey: 'no' } as unknown as MasterKeyProvider)
            : tenant === 'empty'
              ? []
              : LocalMasterKeyProvider.fromBase64(masterKey, 'the keyring key'),
      },
    });
    for (const tenant of ['odd', 'empty', 'keyrings-own']) {
      const error = await caught(() => kms.encryptData('x', { tenant }));
      expect(error).toBeInstanceOf(KmsConfigurationError);
      expect(error.message).toContain(`tenantMasterKeys.providerFor("${tenant}")`);
    }
    expect(await tables(({ keys }) => keys.filter((key) => key.tenant !== null))).toEqual([]);
  });
});
