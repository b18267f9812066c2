import { IsString } from 'class-validator';
import { DataKeyNotReplicatedError } from '@nest-kms/kms';
import { FromSecret, KmsConfigModule } from '@nest-kms/config';
import { SecretNotFoundError } from '@nest-kms/secrets';
import { caught } from './support/caught.js';
import { eventually } from './support/eventually.js';
import { newMasterKey } from './support/kms-fixture.js';
import { migrateDatabase } from './support/migrated-databases.js';
import {
  clusterDatabase,
  createDatabase,
  createPublication,
  createSubscription,
  pauseSubscription,
  pgClustersAvailable,
  replicateKmsTables,
  resumeSubscription,
  startPgCluster,
  waitForSubscription,
  type PgCluster,
} from './support/pg-clusters.js';
import { startSecretsApp, type SecretsApp } from './support/secrets-fixture.js';

/*
 * Replication lag between two regions, for real: region B's subscription is disabled while
 * region A writes, so A's changes wait in A's WAL (its replication slot keeps them), then
 * enabled again. B keeps serving what it has; what needs a data key B has not received fails
 * with a typed retryable error and succeeds once the key's row arrives, without a restart.
 */

const REPLICA = { role: 'replica', primary: 'region A' } as const;

class LaggingConfig {
  @FromSecret('svc/api-key') @IsString() apiKey!: string;
}

describe.skipIf(!pgClustersAvailable)('two regions while replication lags', () => {
  const masterKey = newMasterKey();
  let clusterA: PgCluster | undefined;
  let clusterB: PgCluster | undefined;
  const apps: SecretsApp[] = [];

  const start = async (url: string, replica = false): Promise<SecretsApp> => {
    const app = await startSecretsApp(clusterDatabase(url), {
      masterKey,
      kms: replica ? { region: REPLICA } : {},
      imports: replica ? [KmsConfigModule.forRoot({ schema: LaggingConfig })] : [],
    });
    apps.push(app);
    return app;
  };

  beforeAll(async () => {
    [clusterA, clusterB] = await Promise.all([startPgCluster(), startPgCluster()]);
  });

  afterAll(async () => {
    try {
      for (const app of apps.splice(0).toReversed()) await app.close();
    } finally {
      await clusterB?.stop();
      await clusterA?.stop();
    }
  });

  describe('with the keyring and the secrets on one subscription (the documented set-up)', () => {
    const SUBSCRIPTION = 'nest_kms_from_region_a';
    let urlA: string;
    let urlB: string;
    let regionA: SecretsApp;
    let regionB: SecretsApp;

    beforeAll(async () => {
      [urlA, urlB] = await Promise.all([
        createDatabase(clusterA!, 'one_subscription'),
        createDatabase(clusterB!, 'one_subscription'),
      ]);
      regionA = await start(urlA);
      await regionA.secrets.setSecret('svc/api-key', 'before-the-lag');
      await replicateKmsTables(urlA, urlB, {
        publication: 'nest_kms_region_a',
        subscription: SUBSCRIPTION,
      });
      regionB = await start(urlB, true);
    });

    it('serves in region B what it has while the lag lasts, refuses an envelope under a key it has not received as retryable, and opens it once the key arrives', async () => {
      const oldKeyId = regionA.kms.getStatus().activeKeyId;
      const sealedBefore = await regionA.kms.encryptToString('sealed-before-the-lag');
      const config = regionB.app.get(LaggingConfig);
      expect(config.apiKey).toBe('before-the-lag');

      await pauseSubscription(urlB, SUBSCRIPTION);
      try {
        const { keyId } = await regionA.kms.rotateDataKey();
        // An envelope region A hands on (a message, a response) ahead of its key's row.
        const sealedAhead = await regionA.kms.encryptToString('sealed-ahead-of-its-key');
        await regionA.secrets.rotateSecret('svc/api-key', 'during-the-lag');
        await regionA.secrets.setSecret('svc/created-during-the-lag', 'not-there-yet');

        // What B has keeps working: old envelopes, secrets and configuration as they were.
        expect(await regionB.kms.decryptData(sealedBefore)).toBe('sealed-before-the-lag');
        expect(await regionB.secrets.getSecret('svc/api-key')).toBe('before-the-lag');
        expect(config.apiKey).toBe('before-the-lag');
        expect(
          await caught(() => regionB.secrets.getSecret('svc/created-during-the-lag')),
        ).toBeInstanceOf(SecretNotFoundError);
        // B encrypts under the newest key it has, which A holds too.
        expect(regionB.kms.getStatus().activeKeyId).toBe(oldKeyId);
        const sealedInB = await regionB.kms.encryptToString('sealed-in-region-b');
        expect(await regionA.kms.decryptData(sealedInB)).toBe('sealed-in-region-b');

        // Asked again at once, the refusal comes from the remembered miss: the same typed error.
        for (let attempt = 0; attempt < 2; attempt++) {
          const refused = await caught(() => regionB.kms.decryptData(sealedAhead));
          expect(refused).toBeInstanceOf(DataKeyNotReplicatedError);
          expect(refused).toMatchObject({
            code: 'KMS_DATA_KEY_NOT_REPLICATED',
            retryable: true,
            keyId,
          });
          expect(refused.message).not.toContain('sealed-ahead-of-its-key');
        }

        await resumeSubscription(urlB, SUBSCRIPTION);
        // The key's arrival is announced; the miss moments ago does not keep it out.
        await eventually(() => expect(regionB.kms.getStatus().activeKeyId).toBe(keyId));
        expect(await regionB.kms.decryptData(sealedAhead)).toBe('sealed-ahead-of-its-key');
        await waitForSubscription(urlB, SUBSCRIPTION, urlA);
        expect(await regionB.secrets.getSecret('svc/created-during-the-lag')).toBe('not-there-yet');
        await eventually(async () =>
          expect(await regionB.secrets.getSecret('svc/api-key')).toBe('during-the-lag'),
        );
        await eventually(() => expect(config.apiKey).toBe('during-the-lag'));
      } finally {
        await resumeSubscription(urlB, SUBSCRIPTION);
      }
    });

    it("refuses in region B a tenant's envelope under a key it has not received (a new tenant's, a rotated one's) as retryable, and opens it once the key arrives", async () => {
      const before = await regionA.kms.encryptToString('globex before', { tenant: 'globex' });
      await waitForSubscription(urlB, SUBSCRIPTION, urlA);
      expect(await regionB.kms.decryptData(before, { tenant: 'globex' })).toBe('globex before');

      await pauseSubscription(urlB, SUBSCRIPTION);
      try {
        const ofAcme = await regionA.kms.encryptToString('first of acme', { tenant: 'acme' });
        await regionA.kms.rotateTenantKey('globex');
        const ofGlobex = await regionA.kms.encryptToString('globex after', { tenant: 'globex' });
        // Asked again at once, the refusal comes from the remembered miss: the same typed error.
        for (let attempt = 0; attempt < 2; attempt++) {
          for (const [sealed, tenant] of [
            [ofAcme, 'acme'],
            [ofGlobex, 'globex'],
          ]) {
            const refused = await caught(() => regionB.kms.decryptData(sealed, { tenant }));
            expect(refused).toBeInstanceOf(DataKeyNotReplicatedError);
            expect(refused).toMatchObject({ retryable: true });
          }
        }

        await resumeSubscription(urlB, SUBSCRIPTION);
        await eventually(async () =>
          expect(await regionB.kms.decryptData(ofAcme, { tenant: 'acme' })).toBe('first of acme'),
        );
        await eventually(async () =>
          expect(await regionB.kms.decryptData(ofGlobex, { tenant: 'globex' })).toBe(
            'globex after',
          ),
        );
      } finally {
        await resumeSubscription(urlB, SUBSCRIPTION);
      }
    });
  });

  describe('with the secrets on a subscription of their own, ahead of the keyring', () => {
    const KEYS = 'nest_kms_keys_from_region_a';
    const SECRETS = 'nest_kms_secrets_from_region_a';
    let urlA: string;
    let urlB: string;
    let regionA: SecretsApp;
    let regionB: SecretsApp;

    beforeAll(async () => {
      [urlA, urlB] = await Promise.all([
        createDatabase(clusterA!, 'two_subscriptions'),
        createDatabase(clusterB!, 'two_subscriptions'),
      ]);
      regionA = await start(urlA);
      await regionA.secrets.setSecret('svc/api-key', 'before-the-lag');
      await migrateDatabase(clusterDatabase(urlB));
      await createPublication(urlA, 'nest_kms_keys', [
        'kms_keyring',
        'kms_data_keys',
        'kms_master_key_wraps',
      ]);
      await createPublication(urlA, 'nest_kms_secrets', ['kms_secrets', 'kms_secret_versions']);
      await createSubscription(urlB, KEYS, urlA, 'nest_kms_keys');
      await createSubscription(urlB, SECRETS, urlA, 'nest_kms_secrets');
      await waitForSubscription(urlB, KEYS, urlA);
      await waitForSubscription(urlB, SECRETS, urlA);
      regionB = await start(urlB, true);
    });

    it('refuses in region B a secret whose data key lags behind it as retryable, and reads it once the key arrives', async () => {
      expect(await regionB.secrets.getSecret('svc/api-key')).toBe('before-the-lag');
      await pauseSubscription(urlB, KEYS);
      try {
        const { keyId } = await regionA.kms.rotateDataKey();
        await regionA.secrets.setSecret('svc/under-the-new-key', 'value-under-the-new-key');
        await waitForSubscription(urlB, SECRETS, urlA);

        const refused = await caught(() => regionB.secrets.getSecret('svc/under-the-new-key'));
        expect(refused).toBeInstanceOf(DataKeyNotReplicatedError);
        expect(refused).toMatchObject({ retryable: true, keyId });
        expect(refused.message).not.toContain('value-under-the-new-key');
        expect(await regionB.secrets.getSecret('svc/api-key')).toBe('before-the-lag');

        await resumeSubscription(urlB, KEYS);
        await eventually(() => expect(regionB.kms.getStatus().activeKeyId).toBe(keyId));
        expect(await regionB.secrets.getSecret('svc/under-the-new-key')).toBe(
          'value-under-the-new-key',
        );
      } finally {
        await resumeSubscription(urlB, KEYS);
      }
    });
  });
});
