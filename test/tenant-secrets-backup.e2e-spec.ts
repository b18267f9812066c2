import { randomBytes } from 'node:crypto';
import { KmsDataKeyEntity } from '@nest-kms/kms';
import { KmsStorage } from '@nest-kms/kms/extension';
import { caught } from './support/caught.js';
import { ENGINES, createTestDatabase, type TestDatabase } from './support/databases.js';
import { newMasterKey } from './support/kms-fixture.js';
import { startSecretsApp, type SecretsApp } from './support/secrets-fixture.js';

describe.each(ENGINES)("backups of tenants' secrets on %s", (engine) => {
  let db: TestDatabase;
  const dbs: TestDatabase[] = [];
  const apps: SecretsApp[] = [];
  let masterKey: string;
  const values = new Map<string, string>();

  const start = async (on: TestDatabase = db): Promise<SecretsApp> => {
    const app = await startSecretsApp(on, {
      masterKey,
      kms: { rotation: { checkIntervalMs: 0 }, reencryption: { auto: false } },
    });
    apps.push(app);
    return app;
  };
  /** Gone for good: deleted, then destroyed. */
  const erase = async (
    store: Pick<SecretsApp['secrets'], 'deleteSecret' | 'destroySecret'>,
    name: string,
  ) => {
    await store.deleteSecret(name);
    await store.destroySecret(name);
  };
  const value = (label: string): string => {
    const made = `${label}-${randomBytes(9).toString('hex')}`;
    values.set(label, made);
    return made;
  };

  /** acme (two versions, across a rotation of its key), globex, and one untenanted secret. */
  const seed = async ({ secrets, kms }: SecretsApp): Promise<void> => {
    const acme = secrets.forTenant('acme');
    await acme.setSecret('smtp/password', value('acme-1'));
    await kms.rotateTenantKey('acme');
    await acme.rotateSecret('smtp/password', value('acme-2'));
    await secrets.forTenant('globex').setSecret('smtp/password', value('globex'));
    await secrets.setSecret('shared/api-key', value('shared'));
  };

  beforeEach(async () => {
    masterKey = newMasterKey();
    values.clear();
    db = await createTestDatabase(engine);
    dbs.push(db);
  });

  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    for (const made of dbs.splice(0)) await made.drop();
  });

  it("backs up tenants' secrets with their tenants' keys, and restores them into the database they came from", async () => {
    const app = await start();
    await seed(app);
    const { artifact, secrets: listed } = await app.secrets.backupSecrets();
    expect(listed.map((secret) => secret.name).sort()).toEqual([
      'shared/api-key',
      '~acme/smtp/password',
      '~globex/smtp/password',
    ]);
    const artifactText = JSON.stringify(artifact);
    for (const plain of values.values()) expect(artifactText).not.toContain(plain);

    await erase(app.secrets.forTenant('acme'), 'smtp/password');
    await erase(app.secrets, 'shared/api-key');

    const restored = await app.secrets.restoreSecrets(artifact);
    expect(restored.restored.sort()).toEqual(['shared/api-key', '~acme/smtp/password']);
    expect(restored.unchanged).toEqual(['~globex/smtp/password']);
    expect(restored.notRestored).toEqual([]);
    const acme = app.secrets.forTenant('acme');
    expect(await acme.getSecret('smtp/password')).toBe(values.get('acme-2'));
    expect(await acme.getSecret('smtp/password', { version: 1 })).toBe(values.get('acme-1'));
    expect(await app.secrets.getSecret('shared/api-key')).toBe(values.get('shared'));
  });

  it("does not bring a destroyed tenant's keys back: its secrets are reported as not restored, the others restored", async () => {
    const app = await start();
    await seed(app);
    const { artifact } = await app.secrets.backupSecrets();
    await app.kms.destroyTenant('globex', { confirm: 'globex' });
    await erase(app.secrets.forTenant('globex'), 'smtp/password');
    await erase(app.secrets, 'shared/api-key');

    const restored = await app.secrets.restoreSecrets(artifact);
    expect(restored.restored).toEqual(['shared/api-key']);
    expect(restored.notRestored).toEqual([
      { name: '~globex/smtp/password', reason: 'tenant-key-not-stored' },
    ]);
    const keys = await (
      await app.app.get(KmsStorage).dataSource()
    )
      .getRepository(KmsDataKeyEntity)
      .find();
    expect(keys.filter((key) => key.tenant !== null)).toHaveLength(2); // acme's two, no globex
    const error = await caught(() => app.secrets.forTenant('globex').getSecret('smtp/password'));
    expect(error).toMatchObject({ code: 'SECRET_NOT_FOUND' });
  });

  it("restores into another keyring every secret, the tenants' values sealed anew under its keys of the same tenants, and a second restore changes nothing", async () => {
    const source = await start();
    await seed(source);
    const { artifact } = await source.secrets.backupSecrets();

    const fresh = await createTestDatabase(engine);
    dbs.push(fresh);
    const target = await start(fresh);
    const restored = await target.secrets.restoreSecrets(artifact);
    expect(restored.restored.sort()).toEqual([
      'shared/api-key',
      '~acme/smtp/password',
      '~globex/smtp/password',
    ]);
    expect(restored.notRestored).toEqual([]);
    const acme = target.secrets.forTenant('acme');
    expect(await acme.getSecret('smtp/password')).toBe(values.get('acme-2'));
    expect(await acme.getSecret('smtp/password', { version: 1 })).toBe(values.get('acme-1'));
    expect(await target.secrets.forTenant('globex').getSecret('smtp/password')).toBe(
      values.get('globex'),
    );
    expect(await target.secrets.getSecret('shared/api-key')).toBe(values.get('shared'));
    // Restoring twice is harmless: the values sealed anew are compared by everything else.
    const again = await target.secrets.restoreSecrets(artifact);
    expect(again.restored).toEqual([]);
    expect(again.unchanged.sort()).toEqual(restored.restored);
    for (const line of target.logger.lines) {
      for (const plain of values.values()) expect(line).not.toContain(plain);
    }
  });
});
