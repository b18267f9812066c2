import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createDemoApp } from '../apps/demo/src/demo-app.js';
import type { DemoEnvironment } from '../apps/demo/src/demo-environment.js';
import { DemoConfig } from '../apps/demo/src/demo.config.js';
import { CapturedLogger, loggedEvents } from './support/captured-logger.js';
import { caught } from './support/caught.js';
import { ENGINES, createTestDatabase, type TestDatabase } from './support/databases.js';
import {
  demoEnvironment,
  removeDataDir,
  startDemoApp,
  withoutAdminToken,
  type DemoTestApp,
} from './support/demo-app.js';
import { DemoTranscript } from './support/demo-transcript.js';

/** How the demo starts: where its admin token comes from, and its tables. */
describe.each(ENGINES)('demo: start-up on %s', (engine) => {
  const transcript = new DemoTranscript();
  let db: TestDatabase;
  const started: DemoTestApp[] = [];

  beforeEach(async () => {
    db = await createTestDatabase(engine);
  });

  afterEach(async () => {
    for (const demo of started.splice(0)) {
      await demo.close();
      removeDataDir(demo.env);
    }
    await db.drop();
  });

  afterAll(() => transcript.assertNoLeaks());

  async function start(env: DemoEnvironment): Promise<DemoTestApp> {
    const demo = await startDemoApp(env, transcript);
    started.push(demo);
    return demo;
  }

  it('stores ADMIN_TOKEN from the environment on the first start; later starts read the store', async () => {
    const env = demoEnvironment(db, transcript);
    const first = await start(env);
    expect(loggedEvents('demo_admin_token_stored')).toContainEqual(
      expect.objectContaining({ from: 'env', created: ['ADMIN_TOKEN'] }),
    );
    await first.close();
    started.pop();
    const again = await start(withoutAdminToken(env));
    const stored = await again.call('get', '/secrets', { token: env.ADMIN_TOKEN });
    expect(stored.status).toBe(200);
    const admin = (stored.body.secrets as { name: string; currentVersion: number }[]).find(
      (secret) => secret.name === 'ADMIN_TOKEN',
    );
    expect(admin?.currentVersion).toBe(1);
  });

  it('generates a development token into DATA_DIR/dev-admin-token when there is none', async () => {
    const env = withoutAdminToken(demoEnvironment(db, transcript));
    const demo = await start(env);
    const file = join(env.DATA_DIR as string, 'dev-admin-token');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const token = transcript.remember(readFileSync(file, 'utf8').trim());
    expect(loggedEvents('demo_development_admin_token')).toContainEqual(
      expect.objectContaining({ file }),
    );
    expect((await demo.call('get', '/secrets', { token })).status).toBe(200);
    expect((await demo.call('get', '/secrets', { token: null })).status).toBe(401);
  });

  it('refuses a production start without an admin token', async () => {
    const env = withoutAdminToken(demoEnvironment(db, transcript, { NODE_ENV: 'production' }));
    const error = await caught(() => createDemoApp({ env, logger: new CapturedLogger() }));
    expect(error).toMatchObject({ code: 'DEMO_ADMIN_TOKEN_MISSING' });
    expect(error.message).toContain('ADMIN_TOKEN');
    removeDataDir(env);
  });

  it('masks the admin token in the configuration object', async () => {
    const demo = await start(demoEnvironment(db, transcript));
    const config = demo.app.get(DemoConfig);
    expect(config.adminToken).toBe(demo.env.ADMIN_TOKEN);
    expect(JSON.parse(JSON.stringify(config))).toEqual({ port: 3000, adminToken: '****' });
  });

  it('has migrations that create exactly the schema of its entities', async () => {
    const demo = await start(demoEnvironment(db, transcript));
    const pending = await demo.dataSource.driver.createSchemaBuilder().log();
    expect(pending.upQueries.map((statement) => statement.query)).toEqual([]);
  });
});
