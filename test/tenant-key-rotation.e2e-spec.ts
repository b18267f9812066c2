import { KmsDataKeyEntity, KmsMetrics, type KmsModuleOptions } from '@nest-kms/kms';
import { DAY_MS } from './support/clock.js';
import { ENGINES, type Engine } from './support/databases.js';
import { KmsFixture, kmsAppsPerTest, newMasterKey, type KmsApp } from './support/kms-fixture.js';
import { openKmsTables } from './support/kms-tables.js';
import { eventually } from './support/eventually.js';

describe.each(ENGINES)("scheduled rotation of tenants' keys on %s", (engine) => {
  const { apps, start, passes } = rotationApps(engine);

  const storedKey = async (id: string): Promise<KmsDataKeyEntity> => {
    const dataSource = await openKmsTables(apps.db());
    try {
      return await dataSource.getRepository(KmsDataKeyEntity).findOneByOrFail({ id });
    } finally {
      await dataSource.destroy();
    }
  };

  it("rotates a tenant's key once it has sealed maxEncryptionsPerKey envelopes, counting them in the store, and no other tenant's", async () => {
    const { app, kms, logger } = await start({
      maxEncryptionsPerKey: 10,
      usageFlushEvery: 1_000,
    });
    const ofAcme = [];
    for (let i = 0; i < 10; i++) ofAcme.push(await kms.encryptData(`a${i}`, { tenant: 'acme' }));
    const ofGlobex = await kms.encryptData('g', { tenant: 'globex' });
    const keyringKey = (await kms.encryptData('shared')).keyId;

    await kms.runLifecycle();

    const after = await kms.encryptData('next', { tenant: 'acme' });
    expect(after.keyId).not.toBe(ofAcme[0].keyId);
    expect((await kms.encryptData('g2', { tenant: 'globex' })).keyId).toBe(ofGlobex.keyId);
    expect((await kms.encryptData('shared')).keyId).toBe(keyringKey);
    expect(await kms.decryptData(ofAcme[3], { tenant: 'acme' })).toBe('a3');
    const old = await storedKey(ofAcme[0].keyId);
    expect([old.status, Number(old.encryptions)]).toEqual(['retired', 10]);
    expect(Number((await storedKey(ofGlobex.keyId)).encryptions)).toBe(1);
    expect(logger.events('tenant_key_rotated')).toEqual([
      {
        event: 'tenant_key_rotated',
        keyId: after.keyId,
        previousKeyId: ofAcme[0].keyId,
        reason: 'usage_limit',
      },
    ]);
    await kms.rotateTenantKey('globex');
    const metrics = await app.get(KmsMetrics).registry.metrics();
    // Tenants' rotations are counted apart from the keyring's own.
    expect(metrics).toContain('kms_tenant_key_rotations_total{reason="usage_limit"} 1');
    expect(metrics).toContain('kms_tenant_key_rotations_total{reason="manual"} 1');
    expect(metrics).not.toMatch(/^key_rotation_frequency\{/m);
    expect(logger.events('tenant_key_rotated').at(-1)).toMatchObject({ reason: 'manual' });
  });

  it("checks early once a tenant's key has sealed usageFlushEvery envelopes, without waiting for the interval", async () => {
    const { kms, logger } = await start({ maxEncryptionsPerKey: 4, usageFlushEvery: 4 });
    const first = await kms.encryptData('a0', { tenant: 'acme' });
    for (let i = 1; i < 4; i++) await kms.encryptData(`a${i}`, { tenant: 'acme' });
    await eventually(() => expect(logger.events('tenant_key_rotated')).toHaveLength(1));
    expect((await kms.encryptData('a4', { tenant: 'acme' })).keyId).not.toBe(first.keyId);
  });

  it("rotates a tenant's key once it is rotationDays old, for tenants in memory, the next time it is used after a restart", async () => {
    const first = await start({ rotationDays: 1 });
    const ofAcme = await first.kms.encryptData('a', { tenant: 'acme' });
    const ofGlobex = await first.kms.encryptData('g', { tenant: 'globex' });
    passes(DAY_MS - 1);
    await first.kms.runLifecycle();
    expect((await first.kms.encryptData('a', { tenant: 'acme' })).keyId).toBe(ofAcme.keyId);
    passes(1);
    await first.kms.runLifecycle();
    const rotated = first.logger.events('tenant_key_rotated');
    expect(rotated.map((event) => event.previousKeyId).sort()).toEqual(
      [ofAcme.keyId, ofGlobex.keyId].sort(),
    );
    expect(rotated.every((event) => event.reason === 'age')).toBe(true);
    await first.close();

    // After a restart nothing of the tenants is in memory: acme is looked at once it is used.
    passes(DAY_MS);
    const second = await start({ rotationDays: 1 });
    await second.kms.runLifecycle();
    expect(second.logger.events('tenant_key_rotated')).toEqual([]);
    const before = await second.kms.encryptData('a', { tenant: 'acme' });
    await second.kms.runLifecycle();
    expect(second.logger.events('tenant_key_rotated')).toHaveLength(1);
    const afterRotation = await second.kms.encryptData('a', { tenant: 'acme' });
    expect(afterRotation.keyId).not.toBe(before.keyId);
    expect(await second.kms.decryptData(ofAcme, { tenant: 'acme' })).toBe('a');
  });
});

// Replicas hear of each other's rotations through Postgres notifications.
describe.each(ENGINES.filter((engine) => engine === 'postgres'))(
  "rotation of tenants' keys across replicas on %s",
  (engine) => {
    const { apps, start, passes, options, masterKey } = rotationApps(engine);

    it('makes one new key when two replicas find the same tenant key due', async () => {
      const one = await start({ rotationDays: 1 });
      const two = await KmsFixture.start(apps.db(), masterKey(), options({ rotationDays: 1 }));
      try {
        const sealed = await one.kms.encryptData('a', { tenant: 'acme' });
        expect(await two.kms.decryptData(sealed, { tenant: 'acme' })).toBe('a');
        await two.kms.encryptData('b', { tenant: 'acme' });
        passes(DAY_MS);
        await Promise.all([one.kms.runLifecycle(), two.kms.runLifecycle()]);
        const made = [
          ...one.logger.events('tenant_key_rotated'),
          ...two.logger.events('tenant_key_rotated'),
        ];
        expect(made).toHaveLength(1);
        const [fromOne, fromTwo] = await Promise.all([
          one.kms.encryptData('c', { tenant: 'acme' }),
          two.kms.encryptData('d', { tenant: 'acme' }),
        ]);
        expect(fromOne.keyId).toBe(made[0].keyId);
        expect(fromTwo.keyId).toBe(made[0].keyId);
      } finally {
        await two.close();
      }
    });
  },
);

/**
 * Apps on a fresh database per test, under one master key and an injected clock (`passes(ms)`
 * moves it), the scheduler off: a test runs the checks itself.
 */
function rotationApps(engine: Engine) {
  const apps = kmsAppsPerTest(engine);
  let now = Date.now();
  let masterKey: string;
  beforeEach(() => {
    now = Date.now();
    masterKey = newMasterKey();
  });
  const options = (rotation: KmsModuleOptions['rotation'] = {}): Partial<KmsModuleOptions> => ({
    clock: () => now,
    rotation: { checkIntervalMs: 0, ...rotation },
    reencryption: { auto: false },
  });
  return {
    apps,
    options,
    masterKey: () => masterKey,
    passes: (ms: number) => {
      now += ms;
    },
    start: (rotation?: KmsModuleOptions['rotation']): Promise<KmsApp> =>
      apps.start(masterKey, options(rotation)),
  };
}
