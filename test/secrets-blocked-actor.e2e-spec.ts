import { ActorBlockedError } from '@nest-kms/kms';
import { ActorBlocklist } from '@nest-kms/kms/extension';
import { SecretsAuditTrail } from '@nest-kms/secrets';
import { caught } from './support/caught.js';
import { ENGINES, createTestDatabase, type TestDatabase } from './support/databases.js';
import { newMasterKey } from './support/kms-fixture.js';
import { startSecretsApp, type SecretsApp } from './support/secrets-fixture.js';

describe.each(ENGINES)('a blocked actor reading secrets on %s', (engine) => {
  let db: TestDatabase;
  let app: SecretsApp;
  let blocklist: ActorBlocklist;
  let trail: SecretsAuditTrail;

  beforeEach(async () => {
    db = await createTestDatabase(engine);
    app = await startSecretsApp(db, {
      masterKey: newMasterKey(),
      secrets: { audit: { sealIntervalMs: 0, failClosed: true } },
    });
    blocklist = app.app.get(ActorBlocklist);
    trail = app.app.get(SecretsAuditTrail);
    await app.secrets.setSecret('payments-key', 'sk_live_value', { actor: 'operator' });
    // In the cache: a blocked actor must not be answered from it either.
    expect(await app.secrets.getSecret('payments-key', { actor: 'billing' })).toBe('sk_live_value');
  });
  afterEach(async () => {
    await app.close();
    await db.drop();
  });

  it('is refused, cached value or not, and each refusal is in the audit trail', async () => {
    const until = Date.now() + 60_000;
    blocklist.block('mallory', until);

    const error = await caught(() => app.secrets.getSecret('payments-key', { actor: 'mallory' }));
    expect(error).toBeInstanceOf(ActorBlockedError);
    expect(error.message).not.toContain('sk_live_value');
    const batch = await app.secrets.getSecrets(['payments-key', 'other'], { actor: 'mallory' });
    expect(batch.map((result) => (result as { error?: { code: string } }).error?.code)).toEqual([
      'KMS_ACTOR_BLOCKED',
      'KMS_ACTOR_BLOCKED',
    ]);
    expect(await app.secrets.getSecret('payments-key', { actor: 'billing' })).toBe('sk_live_value');

    await trail.seal();
    const refusals = (await trail.read(0)).filter((record) => record.actor === 'mallory');
    expect(
      refusals.map(({ action, secretName, outcome, errorCode }) => ({
        action,
        secretName,
        outcome,
        errorCode,
      })),
    ).toEqual(
      ['payments-key', 'payments-key', 'other'].map((secretName) => ({
        action: 'read',
        secretName,
        outcome: 'failure',
        errorCode: 'KMS_ACTOR_BLOCKED',
      })),
    );
  });

  it('reads again once the block has ended', async () => {
    blocklist.block('mallory', Date.now() + 60_000);
    await caught(() => app.secrets.getSecret('payments-key', { actor: 'mallory' }));
    blocklist.replace(new Map());
    expect(await app.secrets.getSecret('payments-key', { actor: 'mallory' })).toBe('sk_live_value');
  });
});
