import { IsString, MinLength } from 'class-validator';
import pg from 'pg';
import { firstValueFrom, filter } from 'rxjs';
import { FromSecret } from '@nest-kms/config';
import { KmsDataKeyEntity } from '@nest-kms/kms';
import { KmsNotifications } from '@nest-kms/kms/extension';
import type { SecretChange } from '@nest-kms/secrets';
import { CapturedLogger } from './support/captured-logger.js';
import { caught } from './support/caught.js';
import { isolateEnv, startConfigApp } from './support/config-fixture.js';
import { ENGINES, createTestDatabase, type TestDatabase } from './support/databases.js';
import { eventually } from './support/eventually.js';
import { newMasterKey } from './support/kms-fixture.js';
import { openKmsTables } from './support/kms-tables.js';
import { startSecretsApp, type SecretsApp } from './support/secrets-fixture.js';

const VALUES = ['replica-value-one', 'replica-value-two', 'replica-value-three'];

class AppConfig {
  @FromSecret('JWT_SECRET') @IsString() @MinLength(16) jwtSecret: string;
}

describe.each(ENGINES)('secrets and re-encryption on %s', (engine) => {
  let db: TestDatabase;
  const apps: SecretsApp[] = [];

  beforeEach(async () => {
    db = await createTestDatabase(engine);
  });

  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    await db.drop();
  });

  it('moves every secret version to the active key, after which the old key can be destroyed', async () => {
    const app = await startSecretsApp(db, {
      masterKey: newMasterKey(),
      kms: { reencryption: { auto: false } },
    });
    apps.push(app);
    const { kms, secrets } = app;
    const oldKey = kms.getStatus().activeKeyId!;
    for (let i = 0; i < 30; i++) {
      await secrets.setSecret(`svc/key-${i}`, `${VALUES[0]}-${i}`);
      if (i % 3 === 0) await secrets.rotateSecret(`svc/key-${i}`, `${VALUES[1]}-${i}`);
    }
    await kms.rotateDataKey();
    // Retired keys keep decrypting until re-encryption; destroying one now is refused.
    expect(await kms.countEnvelopesUsing(oldKey)).toBe(40 + 30);
    const result = await kms.reencrypt({ batchSize: 16 });
    expect(result).toMatchObject({ ran: true, failed: 0, remaining: 0 });
    expect(await kms.countEnvelopesUsing(oldKey)).toBe(0);
    await kms.destroyDataKey(oldKey);

    secrets.clearCache();
    const active = kms.getStatus().activeKeyId;
    for (let i = 0; i < 30; i++) {
      const name = `svc/key-${i}`;
      expect(await secrets.getSecret(name)).toBe(`${VALUES[i % 3 === 0 ? 1 : 0]}-${i}`);
      expect(await secrets.getSecret(name, { version: 1 })).toBe(`${VALUES[0]}-${i}`);
      const versions = await secrets.listSecretVersions(name);
      expect(versions.every((version) => version.keyId === active)).toBe(true);
    }
    expect(CapturedLogger.allText()).not.toContain(VALUES[0]);
  });
  it('keeps a secret and its current version on one envelope, so a backup taken after re-encryption restores onto its own database', async () => {
    const app = await startSecretsApp(db, {
      masterKey: newMasterKey(),
      kms: { reencryption: { auto: false } },
    });
    apps.push(app);
    await app.secrets.setSecret('svc/a', `${VALUES[0]}-a`);
    await app.secrets.setSecret('svc/b', `${VALUES[0]}-b`);
    await app.kms.rotateDataKey();
    expect(await app.kms.reencrypt()).toMatchObject({ moved: 4, remaining: 0 });
    const { artifact } = await app.secrets.backupSecrets();
    expect(await app.secrets.restoreSecrets(artifact)).toMatchObject({
      restored: [],
      unchanged: ['svc/a', 'svc/b'],
    });
  });

  it('restores a backup made before a master-key rotation while the old key is KMS_MASTER_KEY_PREVIOUS', async () => {
    const oldKey = newMasterKey();
    const newKey = newMasterKey();
    const before = await startSecretsApp(db, { masterKey: oldKey });
    apps.push(before);
    await before.secrets.setSecret('svc/backed-up', `${VALUES[0]}-backup`);
    const { artifact } = await before.secrets.backupSecrets();
    await before.close();
    apps.splice(0);

    const lost = db;
    db = await createTestDatabase(engine);
    await lost.drop();
    const withoutOld = await startSecretsApp(db, { masterKey: newKey });
    apps.push(withoutOld);
    expect(await caught(() => withoutOld.secrets.restoreSecrets(artifact))).toMatchObject({
      code: 'KMS_INVALID_EXPORT',
    });
    await withoutOld.close();
    apps.splice(0);

    const app = await startSecretsApp(db, {
      masterKey: newKey,
      kms: { previousMasterKey: oldKey },
    });
    apps.push(app);
    expect(await app.secrets.restoreSecrets(artifact)).toMatchObject({
      restored: ['svc/backed-up'],
      dataKeysAdded: 1,
    });
    expect(await app.secrets.getSecret('svc/backed-up')).toBe(`${VALUES[0]}-backup`);
    const tables = await openKmsTables(db);
    const fingerprints = new Set(
      (await tables.getRepository(KmsDataKeyEntity).find()).map((key) => key.masterKeyFingerprint),
    );
    await tables.destroy();
    expect([...fingerprints]).toEqual([app.kms.getStatus().masterKeyFingerprint]);
  });
});

describe.each(ENGINES.filter((engine) => engine === 'postgres'))(
  'secrets across replicas on %s',
  (engine) => {
    let db: TestDatabase;
    const apps: { close(): Promise<void> }[] = [];
    const replica = async (masterKey: string): Promise<SecretsApp> => {
      const app = await startSecretsApp(db, { masterKey });
      apps.push(app);
      return app;
    };

    isolateEnv();

    beforeEach(async () => {
      db = await createTestDatabase(engine);
    });

    afterEach(async () => {
      for (const app of apps.splice(0)) await app.close();
      await db.drop();
    });

    const changeOf = (app: SecretsApp, name: string, reason: SecretChange['reason']) =>
      firstValueFrom(app.secrets.watch(name).pipe(filter((change) => change.reason === reason)));

    it('a secret rotated on replica A is read new on replica B once A commits (the delay is printed)', async () => {
      const masterKey = newMasterKey();
      const a = await replica(masterKey);
      const b = await replica(masterKey);
      await a.secrets.setSecret('payments/api-key', VALUES[0]);
      expect(await b.secrets.getSecret('payments/api-key')).toBe(VALUES[0]); // cached on B now

      const figures: number[] = [];
      for (const value of [VALUES[1], VALUES[2]]) {
        const seen = changeOf(b, 'payments/api-key', 'rotated');
        await a.secrets.rotateSecret('payments/api-key', value);
        const committed = performance.now();
        await seen;
        expect(await b.secrets.getSecret('payments/api-key')).toBe(value);
        figures.push(performance.now() - committed);
      }
      console.log(
        `[nest-kms] replica B read the rotated value ${figures.map((ms) => `${ms.toFixed(1)} ms`).join(', ')} after replica A committed it`,
      );
    });

    it("follows another replica's deletion and restores nothing stale", async () => {
      const masterKey = newMasterKey();
      const a = await replica(masterKey);
      const b = await replica(masterKey);
      await a.secrets.setSecret('svc/token', VALUES[0]);
      expect(await b.secrets.getSecret('svc/token')).toBe(VALUES[0]);
      const deleted = changeOf(b, 'svc/token', 'deleted');
      await a.secrets.deleteSecret('svc/token');
      expect(await deleted).toEqual({ name: 'svc/token', version: null, reason: 'deleted' });
      await expect(b.secrets.getSecret('svc/token')).rejects.toMatchObject({
        code: 'SECRET_DELETED',
      });
    });

    it('resynchronises after losing its listener: nothing stays stale', async () => {
      const masterKey = newMasterKey();
      const a = await replica(masterKey);
      const b = await replica(masterKey);
      await a.secrets.setSecret('svc/token', VALUES[0]);
      expect(await b.secrets.getSecret('svc/token')).toBe(VALUES[0]);
      const resynced = changeOf(b, 'svc/token', 'resynced');
      const client = new pg.Client({ connectionString: (db.connection as { url: string }).url });
      await client.connect();
      await client.query('SELECT pg_terminate_backend($1)', [
        b.app.get(KmsNotifications).listenerPid,
      ]);
      await client.end();
      await a.secrets.rotateSecret('svc/token', VALUES[1]);
      // B resynchronises once it listens again (100 ms after the loss). Under load A's rotation
      // may commit after that: the resync then reports version 1, and the rotation reaches B by
      // notification on the new connection. Either way B ends on the new value.
      expect(await resynced).toMatchObject({ name: 'svc/token' });
      await eventually(async () => expect(await b.secrets.getSecret('svc/token')).toBe(VALUES[1]));
    });

    it('updates a configuration field bound to a secret another replica rotated', async () => {
      const masterKey = newMasterKey();
      const a = await replica(masterKey);
      await a.secrets.setSecret('JWT_SECRET', `${VALUES[0]}-jwt`);
      const b = await startConfigApp(db, { masterKey, schema: AppConfig });
      apps.push(b);
      expect(b.config.jwtSecret).toBe(`${VALUES[0]}-jwt`);
      await a.secrets.rotateSecret('JWT_SECRET', `${VALUES[1]}-jwt`);
      await eventually(() => expect(b.config.jwtSecret).toBe(`${VALUES[1]}-jwt`));
    });

    it('never logs a secret value', () => {
      const text = CapturedLogger.allText();
      for (const value of VALUES) expect(text).not.toContain(value);
    });
  },
);
