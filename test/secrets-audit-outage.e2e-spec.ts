import { randomBytes } from 'node:crypto';
import { DatabaseUnavailableError, KmsMetrics } from '@nest-kms/kms';
import { KmsStorage } from '@nest-kms/kms/extension';
import { AuditWriteFailedError, type SecretsModuleOptions } from '@nest-kms/secrets';
import { CapturedLogger, loggedEvents } from './support/captured-logger.js';
import { START } from './support/clock.js';
import { eventually } from './support/eventually.js';
import { databaseOutage, type DatabaseOutage } from './support/database-outage.js';
import { ENGINES, createTestDatabase, type TestDatabase } from './support/databases.js';
import { newMasterKey } from './support/kms-fixture.js';
import { query } from './support/demo-app.js';
import { startSecretsApp, type SecretsApp } from './support/secrets-fixture.js';

/** Retries every 20 ms stand in for the library's 5 s: a clock says how long the outage lasts. */
const FAST_RETRIES = { flushIntervalMs: 10, retryIntervalMs: 20 };
const TIMEOUTS = { connectTimeoutMs: 300, statementTimeoutMs: 300 };

describe.each(ENGINES)('audit records through a database outage on %s', (engine) => {
  let db: TestDatabase;
  let outage: DatabaseOutage;
  let app: SecretsApp | undefined;
  let now: number;
  const value = `value-${randomBytes(8).toString('hex')}`;

  const start = async (audit: SecretsModuleOptions['audit']): Promise<SecretsApp> => {
    app = await startSecretsApp(
      { ...db, connection: outage.connection },
      {
        masterKey: newMasterKey(),
        kms: { database: TIMEOUTS, rotation: { checkIntervalMs: 0 } },
        secrets: { audit, clock: () => now, lifecycle: { checkIntervalMs: 0 } },
      },
    );
    await app.secrets.setSecret('API_KEY', value);
    expect(await app.secrets.getSecret('API_KEY', { actor: 'before' })).toBe(value);
    return app;
  };

  /** Started with the first read record written, so the buffer starts empty. */
  const startFlushed = async (audit: SecretsModuleOptions['audit']): Promise<SecretsApp> => {
    const started = await start(audit);
    await eventually(async () => expect(await readers()).toEqual(['before']));
    return started;
  };

  /** The actors of the read records, in the order they were made. */
  const readers = async (): Promise<string[]> => {
    const dataSource = await app!.app.get(KmsStorage).dataSource();
    const rows = await query(
      dataSource,
      "SELECT actor FROM kms_secret_audit WHERE action = 'read' ORDER BY at, id",
    );
    return rows.map((row) => row.actor as string);
  };

  const metric = async (name: string): Promise<number> => {
    const metrics = await app!.app.get(KmsMetrics).registry.getSingleMetric(name)!.get();
    return metrics.values.reduce((sum, sample) => sum + sample.value, 0);
  };

  beforeEach(async () => {
    now = START;
    db = await createTestDatabase(engine);
    outage = await databaseOutage(db);
  });

  afterEach(async () => {
    outage.restore();
    await app?.close();
    app = undefined;
    await outage.close();
    await db.drop();
  });

  it('keeps every read record through an outage of more than 30 s and writes them all once the database is back', async () => {
    const { secrets } = await startFlushed(FAST_RETRIES);
    const since = CapturedLogger.everything.length;
    outage.refuse();
    const during = Array.from({ length: 20 }, (_, index) => `reader-${index}`);
    for (const actor of during) {
      now += 2_000;
      expect(await secrets.getSecret('API_KEY', { actor })).toBe(value);
    }
    // Several retries fail, each keeping every record.
    await eventually(() => {
      const failed = loggedEvents('secret_audit_flush_failed', since);
      expect(failed.length).toBeGreaterThanOrEqual(3);
      expect(failed.at(-1)).toMatchObject({ bufferedRecords: 20, retryInMs: 20 });
    });
    expect(now - START).toBeGreaterThanOrEqual(40_000);
    outage.restore();

    await eventually(async () => expect(await readers()).toEqual(['before', ...during]));
    expect(loggedEvents('secret_audit_flush_recovered', since)).toHaveLength(1);
    expect(loggedEvents('secret_audit_failed', since)).toEqual([]);
    expect(await metric('secret_audit_records_lost_total')).toBe(0);
    expect(await metric('secret_audit_flush_failures_total')).toBeGreaterThanOrEqual(3);
    expect(await metric('secret_audit_buffered_records')).toBe(0);
  });

  it('keeps the records when traffic is silently dropped, and writes each once when it flows again', async () => {
    const { secrets } = await startFlushed(FAST_RETRIES);
    const since = CapturedLogger.everything.length;
    outage.silence();
    for (const actor of ['quiet-1', 'quiet-2', 'quiet-3']) {
      expect(await secrets.getSecret('API_KEY', { actor })).toBe(value);
    }
    await eventually(() => {
      expect(loggedEvents('secret_audit_flush_failed', since).length).toBeGreaterThanOrEqual(2);
      // Postgres: a flush's INSERT went out on an open connection and the network holds it. Its
      // flush gives up on it and keeps the records, but once delivered it commits all the same.
      expect(outage.holds('INSERT INTO kms_secret_audit')).toBe(engine === 'postgres');
    });
    outage.restore();
    // Both writes of the records are done: the late INSERT, answered, and the retry that recovered.
    await outage.delivered();
    await eventually(() =>
      expect(loggedEvents('secret_audit_flush_recovered', since)).toHaveLength(1),
    );
    expect(await readers()).toEqual(['before', 'quiet-1', 'quiet-2', 'quiet-3']);
    expect(await metric('secret_audit_records_lost_total')).toBe(0);
  });

  it('writes each record once when a flush committed but its answer was lost', async () => {
    const { secrets } = await startFlushed(FAST_RETRIES);
    const since = CapturedLogger.everything.length;
    const dataSource = await app!.app.get(KmsStorage).dataSource();
    const send = dataSource.query.bind(dataSource);
    let inserts = 0;
    // The first audit INSERT commits, then fails as a query timeout does: the buffer retries it.
    const spy = vi
      .spyOn(dataSource, 'query')
      .mockImplementation(async (...args: Parameters<typeof send>) => {
        const result: unknown = await send(...args);
        if (args[0].startsWith('INSERT INTO kms_secret_audit') && inserts++ === 0) {
          throw new DatabaseUnavailableError('query timeout');
        }
        return result;
      });
    for (const actor of ['late-1', 'late-2']) {
      now += 1_000;
      expect(await secrets.getSecret('API_KEY', { actor })).toBe(value);
    }
    await eventually(() =>
      expect(loggedEvents('secret_audit_flush_recovered', since)).toHaveLength(1),
    );
    spy.mockRestore();
    expect(inserts).toBe(2);
    expect(loggedEvents('secret_audit_flush_failed', since)).toHaveLength(1);
    expect(await readers()).toEqual(['before', 'late-1', 'late-2']);
    expect(await metric('secret_audit_records_lost_total')).toBe(0);
  });

  it('when the buffer is full, a read waits for its own record and is refused while it cannot be written', async () => {
    const { secrets, logger } = await startFlushed({ ...FAST_RETRIES, maxBufferedRecords: 3 });
    outage.refuse();
    for (const actor of ['kept-1', 'kept-2', 'kept-3']) {
      now += 1_000;
      expect(await secrets.getSecret('API_KEY', { actor })).toBe(value);
    }
    for (const actor of ['refused-1', 'refused-2']) {
      now += 1_000;
      const error = await secrets.getSecret('API_KEY', { actor }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AuditWriteFailedError);
      expect(error).toMatchObject({ code: 'SECRET_AUDIT_FAILED', why: 'bufferFull' });
      expect((error as Error).message).not.toContain(value);
    }
    expect(logger.events('secret_audit_buffer_full')).toEqual([
      expect.objectContaining({ bufferedRecords: 3, maxBufferedRecords: 3 }),
    ]);
    expect(await metric('secret_audit_buffer_full_total')).toBe(2);
    expect(await metric('secret_audit_buffered_records')).toBe(3);

    outage.restore();
    now += 1_000;
    expect(await secrets.getSecret('API_KEY', { actor: 'after' })).toBe(value);
    await eventually(async () =>
      expect(await readers()).toEqual(['before', 'kept-1', 'kept-2', 'kept-3', 'after']),
    );
    expect(await metric('secret_audit_records_lost_total')).toBe(0);
  });

  it('under failClosed, refuses reads while their record cannot be written', async () => {
    const { secrets } = await start({ failClosed: true });
    outage.refuse();
    await expect(secrets.getSecret('API_KEY', { actor: 'refused' })).rejects.toBeInstanceOf(
      AuditWriteFailedError,
    );
    outage.restore();
    expect(await secrets.getSecret('API_KEY', { actor: 'after' })).toBe(value);
    expect(await readers()).toEqual(['before', 'after']);
  });

  it('says how many records it could not write when the app closes during an outage', async () => {
    const { secrets } = await start({
      flushIntervalMs: 3_600_000,
      retryIntervalMs: 3_600_000,
      sealIntervalMs: 0,
    });
    const since = CapturedLogger.everything.length;
    await secrets.getSecret('API_KEY', { actor: 'unwritten-1' });
    await secrets.getSecret('API_KEY', { actor: 'unwritten-2' });
    outage.refuse();
    await app!.close();
    app = undefined;
    // The first read's record (before) was still buffered too.
    expect(loggedEvents('secret_audit_failed', since)).toEqual([
      expect.objectContaining({ lostRecords: 3, reason: 'shutdown' }),
    ]);
  });

  it('writes no secret value to any log line', () => {
    expect(CapturedLogger.allText()).not.toContain(value);
  });
});
