import { randomBytes } from 'node:crypto';
import {
  DataKeyNotFoundError,
  InvalidTenantError,
  KmsDataKeyEntity,
  MasterKeyUnavailableError,
  TenantMismatchError,
} from '@nest-kms/kms';
import { KmsStorage } from '@nest-kms/kms/extension';
import {
  InvalidSecretInputError,
  SecretAuditEntity,
  SecretEntity,
  SecretNotFoundError,
  SecretVersionEntity,
  type SecretChange,
} from '@nest-kms/secrets';
import { caught } from './support/caught.js';
import { ENGINES, type TestDatabase } from './support/databases.js';
import { eventually } from './support/eventually.js';
import { FaultyMasterKey } from './support/faulty-master-key.js';
import { newMasterKey } from './support/kms-fixture.js';
import { createMigratedTestDatabase } from './support/migrated-databases.js';
import { startSecretsApp, type SecretsApp } from './support/secrets-fixture.js';

describe.each(ENGINES)('secrets per tenant on %s', (engine) => {
  let db: TestDatabase;
  let masterKey: string;
  const apps: SecretsApp[] = [];
  const start = async (): Promise<SecretsApp> => {
    const app = await startSecretsApp(db, {
      masterKey,
      kms: { rotation: { checkIntervalMs: 0 }, reencryption: { auto: false } },
    });
    apps.push(app);
    return app;
  };
  const rows = (app: SecretsApp) =>
    app.app.get(KmsStorage).run((dataSource) => dataSource.getRepository(SecretEntity).find());

  beforeEach(async () => {
    masterKey = newMasterKey();
    db = await createMigratedTestDatabase(engine);
  });

  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    await db.drop();
  });

  it("stops serving a tenant's cached secrets when the keys its own master key unwrapped are due for a recheck, so revoking that key reaches them", async () => {
    let now = Date.now();
    const clock = () => now;
    const acmeOwn = new FaultyMasterKey(randomBytes(32));
    const app = await startSecretsApp(db, {
      masterKey,
      kms: {
        clock,
        rotation: { checkIntervalMs: 0 },
        reencryption: { auto: false },
        masterKeyCalls: { attempts: 1, backoffMs: 0 },
        tenantMasterKeys: {
          providerFor: (tenant) => (tenant === 'acme' ? acmeOwn : undefined),
          recheckAfterMs: 60_000,
        },
      },
      secrets: { clock, cacheTtlMs: 300_000 },
    });
    apps.push(app);
    const acme = app.secrets.forTenant('acme');
    const globex = app.secrets.forTenant('globex');
    await acme.setSecret('smtp/password', 'acme-smtp-pw');
    await globex.setSecret('smtp/password', 'globex-smtp-pw');
    expect(await acme.getSecret('smtp/password')).toBe('acme-smtp-pw');
    expect(await globex.getSecret('smtp/password')).toBe('globex-smtp-pw');

    // Acme revokes its key. Until the recheck its keys (and so its values) are still held...
    acmeOwn.down = true;
    now += 30_000;
    expect(await acme.getSecret('smtp/password')).toBe('acme-smtp-pw');
    // ...after it, neither its keys nor its cached values are, well before the cache's TTL.
    now += 31_000;
    for (const read of [
      () => acme.getSecret('smtp/password'),
      async () => {
        const [result] = await acme.getSecrets(['smtp/password']);
        if (!result.ok) throw result.error;
      },
    ]) {
      expect(await caught(read)).toBeInstanceOf(MasterKeyUnavailableError);
    }
    expect(await globex.getSecret('smtp/password')).toBe('globex-smtp-pw');

    acmeOwn.down = false;
    expect(await acme.getSecret('smtp/password')).toBe('acme-smtp-pw');
  });

  it("keeps each tenant's names its own: the same name holds three values, each listed only in its scope", async () => {
    const app = await start();
    const { secrets } = app;
    const acme = secrets.forTenant('acme');
    const globex = secrets.forTenant('globex');
    await acme.setSecret('db/password', 'acme-pw', { tags: { team: 'core' } });
    await acme.setSecret('api/key', 'acme-key');
    await globex.setSecret('db/password', 'globex-pw', { tags: { team: 'core' } });
    await secrets.setSecret('db/password', 'shared-pw', { tags: { team: 'core' } });

    expect(await acme.getSecret('db/password')).toBe('acme-pw');
    expect(await globex.getSecret('db/password')).toBe('globex-pw');
    expect(await secrets.getSecret('db/password')).toBe('shared-pw');
    expect(await caught(() => globex.getSecret('api/key'))).toBeInstanceOf(SecretNotFoundError);
    expect(await caught(() => secrets.getSecret('api/key'))).toBeInstanceOf(SecretNotFoundError);

    const names = (list: { name: string }[]) => list.map((secret) => secret.name);
    expect(names(await acme.listSecrets())).toEqual(['api/key', 'db/password']);
    expect(names(await globex.listSecrets())).toEqual(['db/password']);
    expect(names(await secrets.listSecrets())).toEqual(['db/password']);
    expect(names(await acme.listSecrets({ tag: 'team=core' }))).toEqual(['db/password']);
    expect(names(await secrets.listSecrets({ tag: 'team' }))).toEqual(['db/password']);
    expect(names(await acme.listSecrets({ prefix: 'db/' }))).toEqual(['db/password']);
    expect(await acme.countSecrets()).toBe(2);
    expect(await secrets.countSecrets()).toBe(1);
    const first = await acme.listSecrets({ limit: 1 });
    expect(first).toMatchObject({ secrets: [{ name: 'api/key' }], nextCursor: 'api/key' });
    const second = await acme.listSecrets({ limit: 1, after: first.nextCursor! });
    expect(second).toMatchObject({ secrets: [{ name: 'db/password' }], nextCursor: null });

    const batch = await acme.getSecrets(['db/password', 'api/key', 'missing']);
    expect(batch.map((result) => [result.name, result.ok && result.value])).toEqual([
      ['db/password', 'acme-pw'],
      ['api/key', 'acme-key'],
      ['missing', false],
    ]);

    await acme.rotateSecret('db/password', 'acme-pw-2');
    expect(await acme.getSecret('db/password')).toBe('acme-pw-2');
    expect(await acme.getSecret('db/password', { version: 1 })).toBe('acme-pw');
    expect((await acme.listSecretVersions('db/password')).map((v) => v.stage)).toEqual([
      'current',
      'previous',
    ]);
    expect(await globex.getSecret('db/password')).toBe('globex-pw');
    await acme.deleteSecret('api/key');
    expect(names(await acme.listSecrets())).toEqual(['db/password']);
    await acme.recoverSecret('api/key');
    expect(await acme.getSecret('api/key')).toBe('acme-key');

    // Stored under `~<tenant>/`, which no caller's name can start with.
    expect(names(await rows(app)).sort()).toEqual([
      'db/password',
      '~acme/api/key',
      '~acme/db/password',
      '~globex/db/password',
    ]);
    expect(await caught(() => secrets.getSecret('~acme/db/password'))).toBeInstanceOf(
      InvalidSecretInputError,
    );
    expect(await caught(() => secrets.setSecret('~acme/db/password', 'x'))).toBeInstanceOf(
      InvalidSecretInputError,
    );
    const [viaBatch] = await secrets.getSecrets(['~acme/db/password']);
    expect(viaBatch).toMatchObject({ ok: false, error: { code: 'SECRET_INVALID_INPUT' } });
  });

  it("seals a tenant's values under the tenant's keys, bound to the tenant: a value moved to another tenant's row does not open", async () => {
    const app = await start();
    const { secrets, kms } = app;
    const acme = secrets.forTenant('acme');
    const globex = secrets.forTenant('globex');
    const ofAcme = await acme.setSecret('db/password', 'acme-pw');
    const ofGlobex = await globex.setSecret('db/password', 'globex-pw');
    const shared = await secrets.setSecret('db/password', 'shared-pw');
    expect(ofAcme.keyId).toMatch(/^tk-/);
    expect(ofGlobex.keyId).toMatch(/^tk-/);
    expect(ofAcme.keyId).not.toBe(ofGlobex.keyId);
    expect(shared.keyId).not.toMatch(/^tk-/);
    // The tenant's key is the one encryptData uses for the tenant.
    const envelope = await kms.encryptData('x', { tenant: 'acme' });
    expect(envelope.keyId).toBe(ofAcme.keyId);

    const storage = app.app.get(KmsStorage);
    const stored = await rows(app);
    const envelopeOf = (name: string) => stored.find((row) => row.name === name)!.currentEnvelope;
    const move = (to: string, from: string) =>
      storage.run((dataSource) =>
        dataSource
          .getRepository(SecretEntity)
          .update({ name: to }, { currentEnvelope: envelopeOf(from) }),
      );
    await move('~globex/db/password', '~acme/db/password');
    await move('db/password', '~acme/db/password');
    secrets.clearCache();
    expect(await caught(() => globex.getSecret('db/password'))).toBeInstanceOf(TenantMismatchError);
    expect(await caught(() => secrets.getSecret('db/password'))).toBeInstanceOf(
      TenantMismatchError,
    );
    expect(await acme.getSecret('db/password')).toBe('acme-pw');
  });

  it("records a tenant's operations under the stored name, which says the tenant", async () => {
    const app = await start();
    const acme = app.secrets.forTenant('acme');
    await acme.setSecret('db/password', 'acme-pw', { actor: 'alice' });
    await acme.getSecret('db/password', { actor: 'alice' });
    await app.close();
    apps.splice(0);
    const audit = await (
      await start()
    ).app
      .get(KmsStorage)
      .run((dataSource) =>
        dataSource.getRepository(SecretAuditEntity).find({ where: { actor: 'alice' } }),
      );
    expect(audit.map((record) => [record.action, record.secretName]).sort()).toEqual([
      ['read', '~acme/db/password'],
      ['write', '~acme/db/password'],
    ]);
  });

  it("after destroyTenant, refuses the tenant's secrets (cached ones too) and serves everyone else's", async () => {
    const { secrets, kms } = await start();
    const acme = secrets.forTenant('acme');
    const globex = secrets.forTenant('globex');
    await acme.setSecret('db/password', 'acme-pw');
    await acme.setSecret('api/key', 'acme-key');
    await globex.setSecret('db/password', 'globex-pw');
    await secrets.setSecret('db/password', 'shared-pw');
    // In the cache before the destruction.
    expect(await acme.getSecret('db/password')).toBe('acme-pw');
    expect(await globex.getSecret('db/password')).toBe('globex-pw');

    await kms.destroyTenant('acme', { confirm: 'acme' });

    const refused = await caught(() => acme.getSecret('db/password'));
    expect(refused).toBeInstanceOf(DataKeyNotFoundError);
    expect(refused).toMatchObject({ code: 'KMS_DATA_KEY_NOT_FOUND' });
    expect(await caught(() => acme.getSecret('api/key'))).toBeInstanceOf(DataKeyNotFoundError);
    const batch = await acme.getSecrets(['db/password']);
    expect(batch[0]).toMatchObject({ ok: false, error: { code: 'KMS_DATA_KEY_NOT_FOUND' } });
    expect(await globex.getSecret('db/password')).toBe('globex-pw');
    expect(await secrets.getSecret('db/password')).toBe('shared-pw');
    // The tenant can start again: new values under a new key; the old versions stay unreadable.
    await acme.rotateSecret('db/password', 'acme-pw-new');
    expect(await acme.getSecret('db/password')).toBe('acme-pw-new');
    expect(await caught(() => acme.getSecret('db/password', { version: 1 }))).toBeInstanceOf(
      DataKeyNotFoundError,
    );
  });

  it("re-encryption moves a rotated tenant's versions and current values to its new key, in a process that has not loaded the tenant, and counts a destroyed tenant's as failed", async () => {
    let app = await start();
    const acme = app.secrets.forTenant('acme');
    await acme.setSecret('db/password', 'acme-pw-1');
    await acme.rotateSecret('db/password', 'acme-pw-2');
    await acme.setSecret('api/key', 'acme-key');
    await app.secrets.forTenant('globex').setSecret('db/password', 'globex-pw');
    await app.secrets.forTenant('initech').setSecret('db/password', 'initech-pw');
    await app.secrets.setSecret('db/password', 'shared-pw');
    const acmeKey = (await app.kms.rotateTenantKey('acme')).keyId;
    await app.kms.destroyTenant('initech', { confirm: 'initech' });
    const storage = () => app.app.get(KmsStorage);
    const tables = () =>
      storage().run(async (dataSource) => ({
        secrets: await dataSource.getRepository(SecretEntity).find({ order: { name: 'ASC' } }),
        versions: await dataSource
          .getRepository(SecretVersionEntity)
          .find({ order: { secretName: 'ASC', version: 'ASC' } }),
        keys: await dataSource.getRepository(KmsDataKeyEntity).count(),
      }));
    const before = await tables();
    // A process that never used acme: its keys are read by tag for the run.
    await app.close();
    apps.splice(0);
    app = await start();

    // Acme's three versions rewrapped, its two current values copied from them; initech's
    // version and current value counted as failed (their key is gone), never read.
    expect(await app.kms.reencrypt()).toMatchObject({ moved: 5, failed: 2, remaining: 2 });
    const after = await tables();
    expect(after.keys).toBe(before.keys);
    const byName = <Row extends { secretName?: string; name?: string }>(
      list: Row[],
      tenant: string,
    ) => list.filter((row) => (row.secretName ?? row.name)!.startsWith(`~${tenant}/`));
    for (const version of byName(after.versions, 'acme')) {
      expect(version.keyId).toBe(acmeKey);
      expect(version.envelope.startsWith(`kms2.secret.${acmeKey}.`)).toBe(true);
    }
    for (const secret of byName(after.secrets, 'acme')) {
      const current = after.versions.find(
        (version) =>
          version.secretName === secret.name && version.version === secret.currentVersion,
      )!;
      expect([secret.currentKeyId, secret.currentEnvelope]).toEqual([acmeKey, current.envelope]);
    }
    for (const untouched of ['globex', 'initech']) {
      expect(byName(after.versions, untouched)).toEqual(byName(before.versions, untouched));
      expect(byName(after.secrets, untouched)).toEqual(byName(before.secrets, untouched));
    }
    expect(after.secrets.find((secret) => secret.name === 'db/password')).toEqual(
      before.secrets.find((secret) => secret.name === 'db/password'),
    );
    const moved = app.secrets.forTenant('acme');
    expect(await moved.getSecret('db/password')).toBe('acme-pw-2');
    expect(await moved.getSecret('db/password', { version: 1 })).toBe('acme-pw-1');
    expect(await moved.getSecret('api/key')).toBe('acme-key');
    expect(await app.secrets.forTenant('globex').getSecret('db/password')).toBe('globex-pw');

    expect(await app.kms.reencrypt()).toMatchObject({ moved: 0, failed: 2, remaining: 2 });
  });

  it('stores the longest name under the longest tenant id (194 characters stored)', async () => {
    const { secrets } = await start();
    const tenant = secrets.forTenant(`t${'x'.repeat(63)}`);
    const name = `n${'y'.repeat(127)}`;
    await tenant.setSecret(name, 'long', { tags: { kind: 'long' } });
    await tenant.rotateSecret(name, 'longer', { actor: 'alice' });
    secrets.clearCache();
    expect(await tenant.getSecret(name)).toBe('longer');
    expect((await tenant.listSecrets({ tag: 'kind' })).map((secret) => secret.name)).toEqual([
      name,
    ]);
  });

  it('refuses a tenant id the KMS would refuse, before anything is stored', async () => {
    const app = await start();
    expect(() => app.secrets.forTenant('no/slash')).toThrow(InvalidTenantError);
    expect(() => app.secrets.forTenant('')).toThrow(InvalidTenantError);
    expect(await rows(app)).toEqual([]);
  });

  it("tells a tenant's watchers its changes under its own names, and nobody else", async () => {
    const { secrets } = await start();
    const seen: Record<string, SecretChange[]> = { acme: [], globex: [], none: [] };
    const subscriptions = [
      secrets
        .forTenant('acme')
        .watch()
        .subscribe((change) => seen.acme.push(change)),
      secrets
        .forTenant('globex')
        .watch()
        .subscribe((change) => seen.globex.push(change)),
      secrets.watch().subscribe((change) => seen.none.push(change)),
    ];
    await secrets.forTenant('acme').setSecret('db/password', 'acme-pw');
    await secrets.setSecret('db/password', 'shared-pw');
    for (const subscription of subscriptions) subscription.unsubscribe();
    expect(seen.acme).toEqual([{ name: 'db/password', version: 1, reason: 'created' }]);
    expect(seen.globex).toEqual([]);
    expect(seen.none).toEqual([{ name: 'db/password', version: 1, reason: 'created' }]);
  });

  if (engine === 'postgres') {
    it("a replica holding a destroyed tenant's value in its cache stops serving it", async () => {
      const writer = await start();
      const replica = await start();
      await writer.secrets.forTenant('acme').setSecret('db/password', 'acme-pw');
      await writer.secrets.forTenant('globex').setSecret('db/password', 'globex-pw');
      const onReplica = replica.secrets.forTenant('acme');
      expect(await onReplica.getSecret('db/password')).toBe('acme-pw');
      expect(await replica.secrets.forTenant('globex').getSecret('db/password')).toBe('globex-pw');

      await writer.kms.destroyTenant('acme', { confirm: 'acme' });

      await eventually(async () => {
        expect(await caught(() => onReplica.getSecret('db/password'))).toBeInstanceOf(
          DataKeyNotFoundError,
        );
      });
      expect(await replica.secrets.forTenant('globex').getSecret('db/password')).toBe('globex-pw');
    });
  }
});
