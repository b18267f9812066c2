import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import pg from 'pg';
import { CapturedLogger, loggedEvents } from './support/captured-logger.js';
import { ENGINES, createTestDatabase, type TestDatabase } from './support/databases.js';
import {
  demoEnvironment,
  removeDataDir,
  startDemoApp,
  type DemoTestApp,
} from './support/demo-app.js';
import { DemoTranscript } from './support/demo-transcript.js';
import { eventually } from './support/eventually.js';
import { pgClustersAvailable, startPgCluster, type PgCluster } from './support/pg-clusters.js';
import { adminQuery } from './support/postgres-admin.js';
import { startSecretsApp } from './support/secrets-fixture.js';

const transcript = new DemoTranscript();
const SECRET_PATH = '/secrets/reporting%2FDB_PASSWORD';

/**
 * A server of the test's own that checks passwords (the shared one trusts every local login):
 * `role` must log in with a password, the superuser keeps trust for the test's own statements.
 */
async function passwordCluster(role: string, password: string): Promise<PgCluster> {
  const cluster = await startPgCluster();
  await adminQuery(cluster.url, `CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
  const client = new pg.Client({ connectionString: cluster.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ hba_file: string }>('SHOW hba_file');
    const hba = rows[0].hba_file;
    writeFileSync(hba, `host all ${role} 127.0.0.1/32 scram-sha-256\n${readFileSync(hba, 'utf8')}`);
    await client.query('SELECT pg_reload_conf()');
  } finally {
    await client.end();
  }
  return cluster;
}

describe.skipIf(!pgClustersAvailable).each(ENGINES)(
  'the demo reporting database follows its rotating password, secrets on %s',
  (engine) => {
    const role = `reporting_${randomBytes(4).toString('hex')}`;
    let cluster: PgCluster;
    let db: TestDatabase;
    let demo: DemoTestApp;

    /** The provider rotates the role's password and ends its sessions: the pool must log in again. */
    const rotateRole = async (password: string) => {
      await adminQuery(cluster.url, `ALTER ROLE ${role} PASSWORD '${password}'`);
      await adminQuery(
        cluster.url,
        `SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE usename = '${role}'`,
      );
    };

    const status = () => demo.call('get', '/reporting/status');

    beforeAll(async () => {
      const first = transcript.value('reporting-pw');
      cluster = await passwordCluster(role, first);
      db = await createTestDatabase(engine);
      demo = await startDemoApp(
        demoEnvironment(db, transcript, {
          REPORTING_DATABASE_URL: `postgres://${role}@127.0.0.1:${cluster.port}/postgres`,
        }),
        transcript,
      );
      // No password yet: the demo runs without its reporting database.
      expect((await status()).body).toMatchObject({ code: 'REPORTING_NOT_CONFIGURED' });
      const stored = await demo.call('put', SECRET_PATH, { body: { value: first } });
      expect(stored.status).toBe(200);
    });

    afterAll(async () => {
      await demo?.close();
      await db?.drop();
      if (demo) removeDataDir(demo.env);
      await cluster?.stop();
    });

    afterAll(() => transcript.assertNoLeaks());

    it('connects once the password secret exists', async () => {
      const answer = await eventually(async () => {
        const response = await status();
        expect(response.status).toBe(200);
        return response;
      });
      expect(answer.body).toEqual({ database: 'up', user: role });
    });

    it('answers 503 with a typed error, not a crash, while the store lags the server', async () => {
      await rotateRole(transcript.value('reporting-pw'));
      const response = await status();
      expect(response.status).toBe(503);
      expect(response.body).toMatchObject({
        code: 'CONFIG_CREDENTIALS_REJECTED',
        reason: 'unchanged',
      });
    });

    it('reconnects when the secret is rotated through the store', async () => {
      const next = transcript.value('reporting-pw');
      await rotateRole(next);
      const since = CapturedLogger.everything.length;
      const rotated = await demo.call('post', `${SECRET_PATH}/rotate`, { body: { value: next } });
      expect(rotated.status).toBe(200);
      expect((await status()).body).toEqual({ database: 'up', user: role });
      expect(loggedEvents('config_field_changed', since)).toContainEqual(
        expect.objectContaining({ field: 'password', secret: 'reporting/DB_PASSWORD' }),
      );
    });

    it('does not stay down when another process rotated the secret unheard', async () => {
      const next = transcript.value('reporting-pw');
      await rotateRole(next);
      const other = await startSecretsApp(db, { masterKey: String(demo.env.KMS_MASTER_KEY) });
      try {
        await other.secrets.rotateSecret('reporting/DB_PASSWORD', next, { actor: 'provider' });
      } finally {
        await other.close();
      }
      const since = CapturedLogger.everything.length;
      expect((await status()).body).toEqual({ database: 'up', user: role });
      if (engine === 'sqlite') {
        // One process per SQLite file hears no other: the refused login read the store afresh.
        expect(loggedEvents('config_field_changed', since)).toContainEqual(
          expect.objectContaining({ field: 'password', reason: 'refreshed' }),
        );
      }
    });
  },
);
