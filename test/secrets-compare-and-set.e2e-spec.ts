import { KmsStorage } from '@nest-kms/kms/extension';
import {
  InvalidSecretInputError,
  SecretAuditEntity,
  SecretStateError,
  type AuditAction,
} from '@nest-kms/secrets';
import { caught } from './support/caught.js';
import { ENGINES, createTestDatabase, type TestDatabase } from './support/databases.js';
import { newMasterKey } from './support/kms-fixture.js';
import { startSecretsApp, type SecretsApp } from './support/secrets-fixture.js';

/** Every audit record of `action`, oldest first. */
async function auditOf(app: SecretsApp, action: AuditAction): Promise<SecretAuditEntity[]> {
  const dataSource = await app.app.get(KmsStorage).dataSource();
  return dataSource
    .getRepository(SecretAuditEntity)
    .find({ where: { action }, order: { id: 'ASC' } });
}

describe.each(ENGINES)('rotateSecret with expectedVersion on %s', (engine) => {
  let db: TestDatabase;
  let app: SecretsApp;

  beforeEach(async () => {
    db = await createTestDatabase(engine);
    app = await startSecretsApp(db, {
      masterKey: newMasterKey(),
      secrets: { audit: { failClosed: true } },
    });
  });

  afterEach(async () => {
    await app.close();
    await db.drop();
  });

  it('rotates when the secret is still at the expected version', async () => {
    const { secrets } = app;
    const created = await secrets.setSecret('API_KEY', 'first');
    const rotated = await secrets.rotateSecret('API_KEY', 'second', {
      expectedVersion: created.currentVersion,
      actor: 'rotator',
    });
    expect(rotated.currentVersion).toBe(2);
    expect(await secrets.getSecret('API_KEY')).toBe('second');
  });

  it('refuses, writes nothing and audits the failure when another rotation came first', async () => {
    const { secrets } = app;
    await secrets.setSecret('API_KEY', 'first');
    await secrets.rotateSecret('API_KEY', 'theirs', { expectedVersion: 1 });

    const error = await caught(() =>
      secrets.rotateSecret('API_KEY', 'mine', { expectedVersion: 1, actor: 'late' }),
    );
    expect(error).toBeInstanceOf(SecretStateError);
    expect(error).toMatchObject({ code: 'SECRET_INVALID_STATE', secretName: 'API_KEY' });
    expect(error.message).toContain('is at version 2, not 1');
    expect(error.message).not.toContain('mine');
    expect(await secrets.getSecret('API_KEY')).toBe('theirs');
    expect((await secrets.listSecretVersions('API_KEY')).map((v) => v.version)).toEqual([2, 1]);
    const rotations = await auditOf(app, 'rotate');
    expect(rotations.map((row) => [row.actor, row.outcome, row.errorCode])).toEqual([
      [null, 'success', null],
      ['late', 'failure', 'SECRET_INVALID_STATE'],
    ]);
  });

  it('refuses an expectedVersion that is not a positive integer, naming the option', async () => {
    const { secrets } = app;
    await secrets.setSecret('API_KEY', 'first');
    for (const expectedVersion of [0, -1, 1.5, Number.NaN, '1' as unknown as number]) {
      const error = await caught(() =>
        secrets.rotateSecret('API_KEY', 'next', { expectedVersion }),
      );
      expect(error).toBeInstanceOf(InvalidSecretInputError);
      expect(error).toMatchObject({ field: 'expectedVersion', code: 'SECRET_INVALID_INPUT' });
    }
    expect(await secrets.getSecret('API_KEY')).toBe('first');
  });

  it('keeps the lifecycle job’s own options out of the public call', async () => {
    const { secrets, logger } = app;
    await secrets.setSecret('API_KEY', 'first');
    const options = { reason: 'auto' } as unknown as { expectedVersion?: number };
    await secrets.rotateSecret('API_KEY', 'second', options);
    const rotated = logger.events('secret_rotated');
    expect(rotated).toHaveLength(1);
    expect(rotated[0].reason).toBeUndefined();
  });
});
