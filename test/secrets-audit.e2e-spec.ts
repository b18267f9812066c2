import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { DataSource } from 'typeorm';
import { KMS_ENTITIES } from '@nest-kms/kms';
import { KmsStorage } from '@nest-kms/kms/extension';
import {
  AuditWriteFailedError,
  InvalidSecretInputError,
  SECRETS_ENTITIES,
  SecretAuditEntity,
  SecretEntity,
  SecretNotFoundError,
  SecretVersionEntity,
  type SecretsModuleOptions,
} from '@nest-kms/secrets';
import { CapturedLogger } from './support/captured-logger.js';
import { DAY_MS, START } from './support/clock.js';
import { eventually } from './support/eventually.js';
import { ENGINES, createTestDatabase, type TestDatabase } from './support/databases.js';
import { newMasterKey } from './support/kms-fixture.js';
import { startSecretsApp, type SecretsApp } from './support/secrets-fixture.js';

/** Buffered records are written only when the app closes (which flushes them). */
// No timed write at all: a timed seal flushes the buffer first.
const FLUSH_AT_CLOSE = { flushIntervalMs: 3_600_000, sealIntervalMs: 0 };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Every value this suite stores or tries to store: no log line may contain one. */
const values = new Set<string>();
const loggers: CapturedLogger[] = [];

function secretValue(label: string): string {
  const value = `${label}-${randomBytes(8).toString('hex')}`;
  values.add(value);
  return value;
}

type AuditRow = Omit<SecretAuditEntity, 'id' | 'recordId' | 'keyId' | 'chainSeq' | 'chainMac'>;

/** The audit rows as a reader of the table sees them, without the generated ids. */
const pick = ({ at, action, secretName, version, actor, outcome, errorCode }: AuditRow) => ({
  at,
  action,
  secretName,
  version,
  actor,
  outcome,
  errorCode,
});

/** A DataSource of our own on the test database (the app's may be closed). */
function openSecretsTables(db: TestDatabase): Promise<DataSource> {
  return new DataSource({
    ...db.connection,
    entities: [...KMS_ENTITIES, ...SECRETS_ENTITIES],
  } as ConstructorParameters<typeof DataSource>[0]).initialize();
}

async function auditRowsOf(dataSource: DataSource): Promise<AuditRow[]> {
  const rows = await dataSource.getRepository(SecretAuditEntity).find({ order: { id: 'ASC' } });
  return rows.map(pick);
}

describe.each(ENGINES)('secrets audit trail on %s', (engine) => {
  let db: TestDatabase;
  const apps: SecretsApp[] = [];
  let now: number;
  const clock = (): number => now;

  const start = async (secrets: SecretsModuleOptions = {}): Promise<SecretsApp> => {
    const app = await startSecretsApp(db, { masterKey: newMasterKey(), secrets });
    apps.push(app);
    loggers.push(app.logger);
    return app;
  };

  /** Closes the app (which flushes buffered records) and reads the table with a DataSource of our own. */
  const auditAfterClose = async (app: SecretsApp): Promise<AuditRow[]> => {
    await app.close();
    apps.splice(apps.indexOf(app), 1);
    const tables = await openSecretsTables(db);
    try {
      return await auditRowsOf(tables);
    } finally {
      await tables.destroy();
    }
  };

  const appTables = (app: SecretsApp): Promise<DataSource> => app.app.get(KmsStorage).dataSource();

  /** Makes every audit insert fail, as a broken or missing audit table would. */
  const breakAuditTable = async (app: SecretsApp): Promise<void> => {
    await (await appTables(app)).query('ALTER TABLE kms_secret_audit RENAME TO kms_audit_moved');
  };
  const repairAuditTable = async (app: SecretsApp): Promise<void> => {
    await (await appTables(app)).query('ALTER TABLE kms_audit_moved RENAME TO kms_secret_audit');
  };

  beforeEach(async () => {
    now = START;
    db = await createTestDatabase(engine);
  });

  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    await db.drop();
  });

  it('records every operation: time, action, secret, version, actor, outcome and error code', async () => {
    const app = await start({ clock, audit: FLUSH_AT_CLOSE });
    const { secrets } = app;
    const tick = (): number => (now += 1_000);
    const steps: (() => Promise<unknown>)[] = [
      () => secrets.setSecret('API_KEY', secretValue('v1'), { actor: 'alice' }),
      () => secrets.getSecret('API_KEY', { actor: 'alice' }),
      () => secrets.getSecret('API_KEY', { actor: 'bob' }),
      () => secrets.getSecret('API_KEY'),
      () => secrets.rotateSecret('API_KEY', secretValue('v2'), { actor: 'alice' }),
      () => secrets.getSecret('API_KEY', { version: 1, actor: 'alice' }),
      () => secrets.listSecrets({ actor: 'carol', tag: 'service' }),
      () => secrets.deleteSecret('API_KEY', { actor: 'alice' }),
      () => secrets.recoverSecret('API_KEY', { actor: 'bob' }),
      () => secrets.deleteSecret('API_KEY', { actor: 'alice' }),
      () => secrets.destroySecret('API_KEY', { actor: 'alice' }),
    ];
    for (const step of steps) {
      tick();
      await step();
    }
    const failures: (() => Promise<unknown>)[] = [
      () => secrets.getSecret('MISSING'),
      () => secrets.getSecret('MISSING', { version: 3, actor: 'dave' }),
      () => secrets.rotateSecret('MISSING', secretValue('orphan'), { actor: 'dave' }),
      () => secrets.destroySecret('MISSING'),
    ];
    for (const failure of failures) {
      tick();
      await expect(failure()).rejects.toBeInstanceOf(SecretNotFoundError);
    }
    tick();
    await secrets.setSecret('LIVE', secretValue('live'));
    tick();
    await expect(secrets.destroySecret('LIVE', { actor: 'erin' })).rejects.toMatchObject({
      code: 'SECRET_INVALID_STATE',
    });

    const rows = await auditAfterClose(app);
    // Buffered reads are inserted at the flush, after later writes: order by time.
    const byTime = [...rows].sort((a, b) => a.at - b.at);
    const at = (step: number) => START + step * 1_000;
    const ok = { outcome: 'success', errorCode: null };
    expect(byTime).toEqual([
      { at: at(1), action: 'write', secretName: 'API_KEY', version: 1, actor: 'alice', ...ok },
      { at: at(2), action: 'read', secretName: 'API_KEY', version: 1, actor: 'alice', ...ok },
      { at: at(3), action: 'read', secretName: 'API_KEY', version: 1, actor: 'bob', ...ok },
      { at: at(4), action: 'read', secretName: 'API_KEY', version: 1, actor: null, ...ok },
      { at: at(5), action: 'rotate', secretName: 'API_KEY', version: 2, actor: 'alice', ...ok },
      { at: at(6), action: 'read', secretName: 'API_KEY', version: 1, actor: 'alice', ...ok },
      { at: at(7), action: 'list', secretName: null, version: null, actor: 'carol', ...ok },
      { at: at(8), action: 'delete', secretName: 'API_KEY', version: 2, actor: 'alice', ...ok },
      { at: at(9), action: 'recover', secretName: 'API_KEY', version: 2, actor: 'bob', ...ok },
      { at: at(10), action: 'delete', secretName: 'API_KEY', version: 2, actor: 'alice', ...ok },
      { at: at(11), action: 'destroy', secretName: 'API_KEY', version: 2, actor: 'alice', ...ok },
      {
        at: at(12),
        action: 'read',
        secretName: 'MISSING',
        version: null,
        actor: null,
        outcome: 'failure',
        errorCode: 'SECRET_NOT_FOUND',
      },
      {
        at: at(13),
        action: 'read',
        secretName: 'MISSING',
        version: 3,
        actor: 'dave',
        outcome: 'failure',
        errorCode: 'SECRET_NOT_FOUND',
      },
      {
        at: at(14),
        action: 'rotate',
        secretName: 'MISSING',
        version: null,
        actor: 'dave',
        outcome: 'failure',
        errorCode: 'SECRET_NOT_FOUND',
      },
      {
        at: at(15),
        action: 'destroy',
        secretName: 'MISSING',
        version: null,
        actor: null,
        outcome: 'failure',
        errorCode: 'SECRET_NOT_FOUND',
      },
      { at: at(16), action: 'write', secretName: 'LIVE', version: 1, actor: null, ...ok },
      {
        at: at(17),
        action: 'destroy',
        secretName: 'LIVE',
        version: null,
        actor: 'erin',
        outcome: 'failure',
        errorCode: 'SECRET_INVALID_STATE',
      },
    ]);
  });

  it('records the failure code of an expired or deleted secret', async () => {
    const app = await start({ clock, audit: FLUSH_AT_CLOSE });
    const { secrets } = app;
    await secrets.setSecret('TEMP', secretValue('temp'), { ttlDays: 1 });
    await secrets.setSecret('GONE', secretValue('gone'));
    await secrets.deleteSecret('GONE');
    now = START + DAY_MS;
    await expect(secrets.getSecret('TEMP', { actor: 'alice' })).rejects.toMatchObject({
      code: 'SECRET_EXPIRED',
    });
    await expect(secrets.getSecret('GONE', { actor: 'alice' })).rejects.toMatchObject({
      code: 'SECRET_DELETED',
    });

    const failures = (await auditAfterClose(app)).filter((row) => row.outcome === 'failure');
    expect(failures).toEqual([
      expect.objectContaining({ action: 'read', secretName: 'TEMP', errorCode: 'SECRET_EXPIRED' }),
      expect.objectContaining({ action: 'read', secretName: 'GONE', errorCode: 'SECRET_DELETED' }),
    ]);
  });

  it('commits a write’s record with the write itself, before any flush', async () => {
    const app = await start({ audit: FLUSH_AT_CLOSE });
    await app.secrets.setSecret('API_KEY', secretValue('tx'), { actor: 'alice' });
    const rows = await auditRowsOf(await appTables(app));
    expect(rows).toEqual([
      expect.objectContaining({ action: 'write', secretName: 'API_KEY', actor: 'alice' }),
    ]);
  });

  it('gives every record an id of its own, on each path that writes one', async () => {
    const app = await start({ audit: { ...FLUSH_AT_CLOSE, maxBufferedRecords: 1 } });
    await app.secrets.setSecret('API_KEY', secretValue('ids'), { actor: 'in-transaction' });
    await app.secrets.getSecret('API_KEY', { actor: 'buffered' });
    // The buffer is full: this read writes its own record, at once.
    await app.secrets.getSecret('API_KEY', { actor: 'waited' });
    await app.close();
    apps.splice(apps.indexOf(app), 1);

    const tables = await openSecretsTables(db);
    const rows = (await tables.query(
      'SELECT actor, record_id FROM kms_secret_audit ORDER BY id',
    )) as { actor: string; record_id: string }[];
    await tables.destroy();
    expect(rows.map((row) => row.actor)).toEqual(['in-transaction', 'waited', 'buffered']);
    for (const row of rows) expect(row.record_id).toMatch(UUID);
    expect(new Set(rows.map((row) => row.record_id)).size).toBe(rows.length);
  });

  it('writes buffered read records when the flush interval passes', async () => {
    const app = await start({ audit: { flushIntervalMs: 10 } });
    const { secrets } = app;
    await secrets.setSecret('API_KEY', secretValue('buffered'));
    for (const actor of ['r1', 'r2', 'r3']) await secrets.getSecret('API_KEY', { actor });
    await secrets.listSecrets({ actor: 'r4' });

    const tables = await appTables(app);
    await eventually(async () => {
      const rows = await auditRowsOf(tables);
      expect(rows.filter((row) => row.action !== 'write').map((row) => row.actor)).toEqual([
        'r1',
        'r2',
        'r3',
        'r4',
      ]);
    });
  });

  it('keeps the other records of a batch when a read with an over-long name is refused', async () => {
    const app = await start({ audit: FLUSH_AT_CLOSE });
    const { secrets } = app;
    await secrets.setSecret('API_KEY', secretValue('batch'));
    await secrets.getSecret('API_KEY', { actor: 'before' });
    const error = await secrets.getSecret('n'.repeat(129)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidSecretInputError);
    await secrets.getSecret('API_KEY', { actor: 'after' });

    const reads = (await auditAfterClose(app)).filter((row) => row.action === 'read');
    expect(reads).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ secretName: 'API_KEY', actor: 'before', outcome: 'success' }),
        expect.objectContaining({ secretName: 'API_KEY', actor: 'after', outcome: 'success' }),
        expect.objectContaining({ outcome: 'failure', errorCode: 'SECRET_INVALID_INPUT' }),
      ]),
    );
    expect(reads).toHaveLength(3);
  });

  it('records writes refused for bad input as failures, like reads, and never the value', async () => {
    const app = await start({ audit: FLUSH_AT_CLOSE });
    const { secrets } = app;
    const value = secretValue('refused-write');
    const refusals = [
      secrets.setSecret('bad name!', value),
      secrets.setSecret('OK_NAME', ''),
      secrets.rotateSecret('n'.repeat(200), value),
      secrets.deleteSecret('../escape'),
    ];
    for (const refusal of refusals) {
      await expect(refusal).rejects.toBeInstanceOf(InvalidSecretInputError);
    }
    const rows = await auditAfterClose(app);
    const failures = rows.filter((row) => row.errorCode === 'SECRET_INVALID_INPUT');
    expect(failures.map((row) => [row.action, row.outcome])).toEqual(
      expect.arrayContaining([
        ['write', 'failure'],
        ['write', 'failure'],
        ['rotate', 'failure'],
        ['delete', 'failure'],
      ]),
    );
    expect(failures).toHaveLength(4);
    // Cut to the column at a whole character, saying how long the name was.
    expect(failures.find((row) => row.action === 'rotate')?.secretName).toBe(
      `${'n'.repeat(115)}… (200 chars)`,
    );
    expect(JSON.stringify(rows)).not.toContain(value);
  });

  it('never writes a secret value into any column of any audit row', async () => {
    const app = await start({ clock, audit: { flushIntervalMs: 10 } });
    const { secrets } = app;
    const written = [secretValue('a1'), secretValue('a2'), secretValue('a3'), secretValue('b1')];
    await secrets.setSecret('API_KEY', written[0], { actor: 'alice', tags: { service: 'x' } });
    await secrets.rotateSecret('API_KEY', written[1], { actor: 'alice' });
    await secrets.setSecret('API_KEY', written[2]);
    await secrets.setSecret('OTHER', written[3], { ttlDays: 1 });
    await secrets.getSecret('API_KEY', { actor: 'bob' });
    await secrets.getSecret('API_KEY');
    await secrets.getSecret('API_KEY', { version: 1 });
    await secrets.listSecrets({ tag: 'service' });
    now += 2 * DAY_MS;
    await expect(secrets.getSecret('OTHER')).rejects.toBeInstanceOf(SecretNotFoundError);
    // Refused writes carry values too.
    const refused = secretValue('refused');
    await expect(secrets.rotateSecret('MISSING', refused)).rejects.toBeInstanceOf(
      SecretNotFoundError,
    );
    await expect(secrets.setSecret('bad name', refused)).rejects.toBeInstanceOf(
      InvalidSecretInputError,
    );
    await secrets.deleteSecret('API_KEY');
    await secrets.destroySecret('API_KEY');
    await app.close();
    apps.splice(apps.indexOf(app), 1);

    const tables = await openSecretsTables(db);
    const raw = (await tables.query('SELECT * FROM kms_secret_audit')) as Record<string, unknown>[];
    await tables.destroy();
    expect(raw.length).toBeGreaterThanOrEqual(12);
    const dump = JSON.stringify(raw);
    for (const value of values) expect(dump).not.toContain(value);
  });

  describe('fail-closed', () => {
    it('refuses reads and lists whose record cannot be written, even cache hits, and returns no value', async () => {
      const app = await start({ audit: { failClosed: true } });
      const { secrets, logger } = app;
      const value = secretValue('closed');
      await secrets.setSecret('API_KEY', value);
      expect(await secrets.getSecret('API_KEY')).toBe(value);
      // Fail-closed reads wait for their record: it is there already, no flush needed.
      const recorded = await auditRowsOf(await appTables(app));
      expect(recorded.map((row) => row.action)).toEqual(['write', 'read']);

      await breakAuditTable(app);
      const attempts: [string, () => Promise<unknown>][] = [
        ['cached read', () => secrets.getSecret('API_KEY', { actor: 'alice' })],
        ['version read', () => secrets.getSecret('API_KEY', { version: 1 })],
        ['list', () => secrets.listSecrets()],
        [
          'cache miss',
          () => {
            secrets.clearCache();
            return secrets.getSecret('API_KEY');
          },
        ],
      ];
      for (const [label, attempt] of attempts) {
        const outcome = await attempt().then(
          (result) => ({ result }),
          (error: unknown) => ({ error }),
        );
        expect(outcome, label).not.toHaveProperty('result');
        const { error } = outcome as { error: Error };
        expect(error, label).toBeInstanceOf(AuditWriteFailedError);
        expect(error).toMatchObject({ code: 'SECRET_AUDIT_FAILED' });
        expect(error.message).not.toContain(value);
      }
      expect(logger.events('secret_audit_failed').length).toBeGreaterThanOrEqual(4);
      expect(logger.text()).not.toContain(value);

      await repairAuditTable(app);
      expect(await secrets.getSecret('API_KEY')).toBe(value);
    });

    /** Writes attempted while the audit table is gone: each one's rejection, by label. */
    const attemptWritesWithoutAudit = async (app: SecretsApp) => {
      const { secrets } = app;
      await breakAuditTable(app);
      const refused = [secretValue('refused-new'), secretValue('refused-set'), secretValue('r')];
      const attempts: [string, () => Promise<unknown>][] = [
        ['set of a new name', () => secrets.setSecret('NEW_KEY', refused[0])],
        ['set of an existing name', () => secrets.setSecret('API_KEY', refused[1])],
        ['rotate', () => secrets.rotateSecret('API_KEY', refused[2])],
        ['delete', () => secrets.deleteSecret('API_KEY')],
      ];
      const errors: [string, unknown][] = [];
      for (const [label, attempt] of attempts) {
        errors.push([
          label,
          await attempt().then(
            () => 'no error',
            (error: unknown) => error,
          ),
        ]);
      }
      await repairAuditTable(app);
      return { errors, refused };
    };

    it('refuses writes whose record cannot be written, and stores nothing', async () => {
      const app = await start({ audit: { failClosed: true } });
      const { secrets } = app;
      const kept = secretValue('kept');
      await secrets.setSecret('API_KEY', kept);
      const tables = await appTables(app);
      const snapshot = async () => ({
        secrets: await tables.getRepository(SecretEntity).find({ order: { name: 'ASC' } }),
        versions: await tables
          .getRepository(SecretVersionEntity)
          .find({ order: { secretName: 'ASC', version: 'ASC' } }),
      });
      const before = await snapshot();

      const { errors, refused } = await attemptWritesWithoutAudit(app);
      for (const [label, error] of errors) {
        expect(error, label).toBeInstanceOf(Error);
        for (const value of refused) expect(inspect(error), label).not.toContain(value);
      }
      expect(await snapshot()).toEqual(before);
      secrets.clearCache();
      expect(await secrets.getSecret('API_KEY')).toBe(kept);
      await expect(secrets.getSecret('NEW_KEY')).rejects.toBeInstanceOf(SecretNotFoundError);
    });

    it('refuses those writes with AuditWriteFailedError, as it refuses reads', async () => {
      const app = await start({ audit: { failClosed: true } });
      await app.secrets.setSecret('API_KEY', secretValue('typed'));
      const { errors } = await attemptWritesWithoutAudit(app);
      for (const [label, error] of errors) {
        expect(error, label).toBeInstanceOf(AuditWriteFailedError);
        expect(error, label).toMatchObject({ code: 'SECRET_AUDIT_FAILED' });
      }
    });
  });

  it('without fail-closed, keeps reads working while records cannot be written, says so without values, and writes them once the table is back', async () => {
    const app = await start({ audit: { flushIntervalMs: 10, retryIntervalMs: 10 } });
    const { secrets, logger } = app;
    const value = secretValue('open');
    await secrets.setSecret('API_KEY', value, { tags: { service: 'api' } });

    await breakAuditTable(app);
    expect(await secrets.getSecret('API_KEY', { actor: 'alice' })).toBe(value);
    expect(await secrets.getSecret('API_KEY', { actor: 'bob' })).toBe(value);
    expect(await secrets.getSecret('API_KEY', { version: 1, actor: 'carol' })).toBe(value);
    expect(
      (await secrets.listSecrets({ tag: 'service', actor: 'dave' })).map((s) => s.name),
    ).toEqual(['API_KEY']);

    await eventually(() => {
      const failed = logger.events('secret_audit_flush_failed');
      expect(failed.at(-1)).toMatchObject({ bufferedRecords: 4, retryInMs: 10 });
    });
    expect(logger.events('secret_audit_failed')).toEqual([]);
    await repairAuditTable(app);

    const tables = await appTables(app);
    await eventually(async () => {
      const rows = await auditRowsOf(tables);
      expect(rows.filter((row) => row.action !== 'write').map((row) => row.actor)).toEqual([
        'alice',
        'bob',
        'carol',
        'dave',
      ]);
    });
    // The recovery is logged once the write that recovered returns, just after its rows commit.
    await eventually(() => expect(logger.events('secret_audit_flush_recovered')).toHaveLength(1));
    expect(logger.text()).not.toContain(value);
  });
});

it('writes no secret value to any log line of this suite', () => {
  expect(loggers.length).toBeGreaterThan(0);
  const texts = [CapturedLogger.allText(), ...loggers.map((logger) => logger.text())];
  expect(texts[0]).toContain('secret_audit_failed');
  const leaks = [...values].filter((value) => texts.some((text) => text.includes(value)));
  expect(leaks).toEqual([]);
});
