import { ENGINES } from './support/databases.js';
import { kmsAppsPerTest, newMasterKey } from './support/kms-fixture.js';

describe.each(ENGINES)("tenants' keys and the keyring's additional master keys on %s", (engine) => {
  const apps = kmsAppsPerTest(engine);
  const quiet = { rotation: { checkIntervalMs: 0 }, reencryption: { auto: false } };

  it("wraps every tenant's keys under an additional master key added later, loaded or not, so a failover to it opens them", async () => {
    const primary = newMasterKey();
    const first = await apps.start(primary, quiet);
    const ofAcme = await first.kms.encryptData('invoice of acme', { tenant: 'acme' });
    await first.kms.rotateTenantKey('acme');
    const ofGlobex = await first.kms.encryptData('invoice of globex', { tenant: 'globex' });
    await first.close();

    // Added while no tenant is in memory: start-up wraps the keyring's own keys only (under a
    // remote KMS a start over thousands of tenants' keys would take minutes); the scheduled
    // check wraps the tenants' keys from their rows.
    const disasterRecovery = newMasterKey();
    const second = await apps.start(primary, {
      ...quiet,
      additionalMasterKeys: [disasterRecovery],
    });
    const added = async () => (await second.kms.listMasterKeys())[1];
    expect(await added()).toMatchObject({ role: 'additional', held: true, keysWithoutWrap: 3 });
    await second.kms.runLifecycle();
    expect(await added()).toMatchObject({ keysWithoutWrap: 0 });
    await second.close();

    const failedOver = await apps.start(disasterRecovery, quiet);
    expect(await failedOver.kms.decryptData(ofAcme, { tenant: 'acme' })).toBe('invoice of acme');
    expect(await failedOver.kms.decryptData(ofGlobex, { tenant: 'globex' })).toBe(
      'invoice of globex',
    );
  });
});
