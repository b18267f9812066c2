import { CapturedLogger, loggedEvents } from './support/captured-logger.js';
import { databaseOutage, type DatabaseOutage } from './support/database-outage.js';
import { ENGINES, createTestDatabase, type TestDatabase } from './support/databases.js';
import {
  demoEnvironment,
  removeDataDir,
  startDemoApp,
  type DemoTestApp,
} from './support/demo-app.js';
import { DemoTranscript } from './support/demo-transcript.js';
import { eventually } from './support/eventually.js';

/** Short limits so that a silent database answers quickly; one health line per outage. */
const OUTAGE_SETTINGS = {
  DATABASE_CONNECT_TIMEOUT_MS: '300',
  DATABASE_STATEMENT_TIMEOUT_MS: '300',
  HEALTH_LOG_INTERVAL_MS: '3600000',
};

describe.each(ENGINES)('demo during a database outage on %s', (engine) => {
  const transcript = new DemoTranscript();
  let db: TestDatabase;
  let outage: DatabaseOutage;
  let demo: DemoTestApp;
  let cached: string;
  let stored: string;

  beforeAll(async () => {
    db = await createTestDatabase(engine);
    outage = await databaseOutage(db);
    const env = demoEnvironment({ ...db, connection: outage.connection }, transcript, {
      ...OUTAGE_SETTINGS,
    });
    demo = await startDemoApp(env, transcript);
    cached = transcript.value('cached');
    stored = transcript.value('stored');
    expect((await demo.call('put', '/secrets/CACHED', { body: { value: cached } })).status).toBe(
      200,
    );
    expect((await demo.call('put', '/secrets/STORED', { body: { value: stored } })).status).toBe(
      200,
    );
    expect((await demo.call('get', '/secrets/CACHED', { reveals: true })).body.value).toBe(cached);
  });

  afterAll(async () => {
    outage.restore();
    await demo?.close();
    await outage.close();
    await db.drop();
    if (demo) removeDataDir(demo.env);
    transcript.assertNoLeaks();
  });

  /** Every endpoint that needs the database answers 503 with the stable code, none hangs. */
  async function expectUnavailable(): Promise<void> {
    const calls: [method: 'get' | 'put', path: string, body?: unknown][] = [
      // A read of a version always goes to the database.
      ['get', '/secrets/STORED?version=1'],
      ['put', '/secrets/NEW', { value: transcript.value('new') }],
      ['get', '/secrets'],
      ['get', '/status'],
    ];
    for (const [method, path, body] of calls) {
      const response = await demo.call(method, path, { body });
      expect(response.status, `${method} ${path}`).toBe(503);
      expect(response.body, `${method} ${path}`).toMatchObject({ code: 'DATABASE_UNAVAILABLE' });
    }
    const hit = await demo.call('get', '/secrets/CACHED', { reveals: true });
    expect(hit.status).toBe(200);
    expect(hit.body.value).toBe(cached);
  }

  /**
   * Back without a restart. A lost LISTEN connection (Postgres) reconnects and resynchronises,
   * which empties the secret cache (notifications sent meanwhile are gone): wait for that, then
   * read CACHED again so the next outage finds it cached, as the first one did.
   */
  async function expectRecovered(since: number): Promise<void> {
    expect((await demo.call('get', '/health')).status).toBe(200);
    expect((await demo.call('get', '/status')).status).toBe(200);
    const read = await demo.call('get', '/secrets/STORED?version=1', { reveals: true });
    expect(read.status).toBe(200);
    expect(read.body.value).toBe(stored);
    if (loggedEvents('kms_notifications_lost', since).length > 0) {
      await eventually(() =>
        expect(
          loggedEvents('kms_notifications_listening', since).some((event) => event.resync),
        ).toBe(true),
      );
    }
    expect((await demo.call('get', '/secrets/CACHED', { reveals: true })).body.value).toBe(cached);
  }

  it('refused connections: 503 DATABASE_UNAVAILABLE, cached reads answer, health logs once per outage and once on recovery', async () => {
    const since = CapturedLogger.everything.length;
    outage.refuse();
    await expectUnavailable();
    for (let probe = 0; probe < 5; probe++) {
      expect((await demo.call('get', '/health')).status).toBe(503);
    }
    expect(loggedEvents('health_check_failed', since)).toEqual([
      expect.objectContaining({ down: ['database'] }),
    ]);
    expect(loggedEvents('health_check_still_failing', since)).toEqual([]);
    expect(CapturedLogger.everything.slice(since).join('\n')).not.toContain(
      'Health Check has failed',
    );

    outage.restore();
    await expectRecovered(since);
    expect(loggedEvents('health_check_recovered', since)).toEqual([
      expect.objectContaining({ failedChecks: 5 }),
    ]);
  });

  it('traffic silently dropped: the same endpoints answer 503 within the time limits, and recover', async () => {
    const since = CapturedLogger.everything.length;
    outage.silence();
    await expectUnavailable();
    expect((await demo.call('get', '/health')).status).toBe(503);
    outage.restore();
    await expectRecovered(since);
  });
});
