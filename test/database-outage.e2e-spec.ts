import { randomBytes } from 'node:crypto';
import { DatabaseUnavailableError, type KmsService } from '@nest-kms/kms';
import type { SecretsService } from '@nest-kms/secrets';
import { CapturedLogger } from './support/captured-logger.js';
import { databaseOutage, type DatabaseOutage } from './support/database-outage.js';
import { ENGINES, createTestDatabase, type TestDatabase } from './support/databases.js';
import { newMasterKey } from './support/kms-fixture.js';
import { startSecretsApp, type SecretsApp } from './support/secrets-fixture.js';

/** Short limits so that a silent database fails calls quickly; the defaults are seconds. */
const TIMEOUTS = { connectTimeoutMs: 300, statementTimeoutMs: 300 };

describe.each(ENGINES)('library calls during a database outage on %s', (engine) => {
  let db: TestDatabase;
  let outage: DatabaseOutage;
  let app: SecretsApp;
  let secrets: SecretsService;
  let kms: KmsService;
  const values = new Map<string, string>();

  const newValue = (name: string): string => {
    const value = `${name}-${randomBytes(8).toString('hex')}`;
    values.set(name, value);
    return value;
  };

  beforeEach(async () => {
    db = await createTestDatabase(engine);
    outage = await databaseOutage(db);
    app = await startSecretsApp(
      { ...db, connection: outage.connection },
      {
        masterKey: newMasterKey(),
        kms: { database: TIMEOUTS, rotation: { checkIntervalMs: 0 } },
        secrets: { lifecycle: { checkIntervalMs: 0 }, audit: { retryIntervalMs: 20 } },
      },
    );
    ({ secrets, kms } = app);
    await secrets.setSecret('CACHED', newValue('CACHED'));
    await secrets.setSecret('STORED', newValue('STORED'));
    expect(await secrets.getSecret('CACHED')).toBe(values.get('CACHED'));
  });

  afterEach(async () => {
    outage.restore();
    await app.close();
    await outage.close();
    await db.drop();
  });

  /** Every call that needs the database, each with the DatabaseUnavailableError it rejects with. */
  async function expectDatabaseCallsRefused(): Promise<void> {
    const calls: [string, () => Promise<unknown>][] = [
      ['uncached read', () => secrets.getSecret('STORED')],
      ['read of a version', () => secrets.getSecret('CACHED', { version: 1 })],
      ['write', () => secrets.setSecret('NEW', newValue('NEW'))],
      ['rotation', () => secrets.rotateSecret('STORED', newValue('ROTATED'))],
      ['list', () => secrets.listSecrets()],
      ['status', () => secrets.getStatus()],
      ['data key rotation', () => kms.rotateDataKey()],
      ['backup', () => secrets.backupSecrets()],
    ];
    for (const [label, call] of calls) {
      const error = await call().then(
        () => new Error(`${label} answered`),
        (rejection: unknown) => rejection,
      );
      expect(error, label).toBeInstanceOf(DatabaseUnavailableError);
      expect(error, label).toMatchObject({ code: 'DATABASE_UNAVAILABLE' });
      for (const value of values.values()) expect((error as Error).message).not.toContain(value);
    }
  }

  /** What needs no database: cached secrets and encryption with the loaded keys. */
  async function expectMemoryCallsAnswered(): Promise<void> {
    expect(await secrets.getSecret('CACHED', { actor: 'during-outage' })).toBe(
      values.get('CACHED'),
    );
    const envelope = await kms.encryptData('plaintext during the outage');
    expect(await kms.decryptData(envelope)).toBe('plaintext during the outage');
  }

  /** Back without a restart: the same calls succeed. */
  async function expectRecovered(): Promise<void> {
    expect(await secrets.getSecret('STORED')).toBe(values.get('STORED'));
    await secrets.setSecret('NEW', newValue('NEW'));
    expect(await secrets.getSecret('NEW')).toBe(values.get('NEW'));
    expect((await secrets.getStatus()).kmsStatus).toMatchObject({ secretsCount: 3 });
    expect((await secrets.listSecrets()).map((secret) => secret.name)).toEqual([
      'CACHED',
      'NEW',
      'STORED',
    ]);
  }

  it('refused connections: calls that need the database fail with DatabaseUnavailableError, the rest answer, and it recovers by itself', async () => {
    outage.refuse();
    await expectDatabaseCallsRefused();
    await expectMemoryCallsAnswered();
    outage.restore();
    await expectRecovered();
  });

  it('traffic silently dropped: the same calls fail within the time limits instead of hanging, and it recovers by itself', async () => {
    outage.silence();
    await expectDatabaseCallsRefused();
    await expectMemoryCallsAnswered();
    outage.restore();
    await expectRecovered();
  });

  it('writes no secret value to any log line', () => {
    const text = CapturedLogger.allText();
    for (const value of values.values()) expect(text).not.toContain(value);
  });
});
