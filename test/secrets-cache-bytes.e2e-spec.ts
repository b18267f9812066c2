import { randomBytes } from 'node:crypto';
import { KmsConfigurationError } from '@nest-kms/kms';
import type { SecretsModuleOptions } from '@nest-kms/secrets';
import { caught } from './support/caught.js';
import { ENGINES, type TestDatabase } from './support/databases.js';
import { newMasterKey } from './support/kms-fixture.js';
import { createMigratedTestDatabase } from './support/migrated-databases.js';
import { startSecretsApp, type SecretsApp } from './support/secrets-fixture.js';
import { SqlRecorder } from './support/sql-recorder.js';

/** What the cacheMaxBytes documentation says each entry counts besides its value's UTF-8 bytes. */
const ENTRY_OVERHEAD = 160;
/** Keeps buffered audit records out of the SQL a test counts (they are flushed at close). */
// No timed write at all: a timed seal flushes the buffer first.
const NO_TIMED_FLUSH = { flushIntervalMs: 3_600_000, sealIntervalMs: 0 };

/** A distinctive ASCII value of exactly `bytes` bytes. */
const valueOf = (bytes: number): string => randomBytes(bytes).toString('hex').slice(0, bytes);

describe.each(ENGINES)('the secrets cache bounded by bytes on %s', (engine) => {
  let db: TestDatabase;
  const apps: SecretsApp[] = [];
  let sql: SqlRecorder;

  const start = async (secrets: SecretsModuleOptions): Promise<SecretsApp> => {
    const app = await startSecretsApp(db, { masterKey: newMasterKey(), secrets, sql });
    apps.push(app);
    return app;
  };

  /** Reads `name`, checks the value, and says how many statements the read sent (0: a hit). */
  const readCounting = async (app: SecretsApp, name: string, value: string): Promise<number> => {
    const reads = sql.mark();
    expect(await app.secrets.getSecret(name)).toBe(value);
    return reads().length;
  };

  beforeEach(async () => {
    db = await createMigratedTestDatabase(engine);
    sql = new SqlRecorder();
  });

  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    await db.drop();
  });

  it('evicts the least recently used values by bytes, a large value several of them', async () => {
    // Room for two 1,000-byte values, not three.
    const app = await start({
      cacheMaxBytes: 2 * (1_000 + ENTRY_OVERHEAD) + 100,
      audit: NO_TIMED_FLUSH,
    });
    const stored = { A: valueOf(1_000), B: valueOf(1_000), C: valueOf(1_000), BIG: valueOf(2_000) };
    for (const [name, value] of Object.entries(stored)) await app.secrets.setSecret(name, value);

    expect(await readCounting(app, 'A', stored.A)).toBe(1);
    expect(await readCounting(app, 'B', stored.B)).toBe(1);
    expect(await readCounting(app, 'A', stored.A)).toBe(0);
    expect((await app.secrets.getStatus()).cacheSize).toBe(2);
    // C does not fit beside A and B: B, the least recently used, goes.
    expect(await readCounting(app, 'C', stored.C)).toBe(1);
    expect(await readCounting(app, 'A', stored.A)).toBe(0);
    expect(await readCounting(app, 'C', stored.C)).toBe(0);
    expect((await app.secrets.getStatus()).cacheSize).toBe(2);
    // 2,000 bytes fit alone: both others go.
    expect(await readCounting(app, 'BIG', stored.BIG)).toBe(1);
    expect(await readCounting(app, 'BIG', stored.BIG)).toBe(0);
    expect((await app.secrets.getStatus()).cacheSize).toBe(1);
    expect(await readCounting(app, 'A', stored.A)).toBe(1);
    expect(await readCounting(app, 'C', stored.C)).toBe(1);
    expect(await readCounting(app, 'BIG', stored.BIG)).toBe(1);
  });

  it('still holds at most cacheMaxEntries values when the bytes would allow more', async () => {
    const app = await start({
      cacheMaxEntries: 2,
      cacheMaxBytes: 1_000_000,
      audit: NO_TIMED_FLUSH,
    });
    const stored = { A: valueOf(32), B: valueOf(32), C: valueOf(32) };
    for (const [name, value] of Object.entries(stored)) await app.secrets.setSecret(name, value);

    for (const name of ['A', 'B', 'C'] as const) {
      expect(await readCounting(app, name, stored[name])).toBe(1);
    }
    expect((await app.secrets.getStatus()).cacheSize).toBe(2);
    expect(await readCounting(app, 'C', stored.C)).toBe(0);
    expect(await readCounting(app, 'B', stored.B)).toBe(0);
    expect(await readCounting(app, 'A', stored.A)).toBe(1);
  });

  it('serves a value larger than the whole budget without caching it, and keeps what is cached', async () => {
    const app = await start({ cacheMaxBytes: 1_000, audit: NO_TIMED_FLUSH });
    const small = valueOf(100);
    const huge = valueOf(1_000); // with its entry overhead, over the budget
    await app.secrets.setSecret('SMALL', small);
    await app.secrets.setSecret('HUGE', huge);

    expect(await readCounting(app, 'SMALL', small)).toBe(1);
    expect(await readCounting(app, 'HUGE', huge)).toBe(1);
    expect(await readCounting(app, 'HUGE', huge)).toBe(1);
    expect(await readCounting(app, 'SMALL', small)).toBe(0);
    expect(await app.secrets.getStatus()).toMatchObject({
      cacheSize: 1,
      cacheHits: 1,
      cacheMisses: 3,
    });
  });

  it('serves the rotated value at once, whether or not the new one fits', async () => {
    const app = await start({ cacheMaxBytes: 1_000, audit: NO_TIMED_FLUSH });
    const first = valueOf(200);
    const second = valueOf(600);
    const tooLarge = valueOf(900);
    await app.secrets.setSecret('API_KEY', first);
    expect(await readCounting(app, 'API_KEY', first)).toBe(1);
    expect(await readCounting(app, 'API_KEY', first)).toBe(0);

    await app.secrets.rotateSecret('API_KEY', second);
    expect(await readCounting(app, 'API_KEY', second)).toBe(1);
    expect(await readCounting(app, 'API_KEY', second)).toBe(0);

    await app.secrets.rotateSecret('API_KEY', tooLarge);
    expect(await readCounting(app, 'API_KEY', tooLarge)).toBe(1);
    expect(await readCounting(app, 'API_KEY', tooLarge)).toBe(1);
    expect((await app.secrets.getStatus()).cacheSize).toBe(0);

    await app.secrets.rotateSecret('API_KEY', first);
    expect(await readCounting(app, 'API_KEY', first)).toBe(1);
    expect(await readCounting(app, 'API_KEY', first)).toBe(0);
  });

  it('refuses a cacheMaxBytes that is not a non-negative integer', async () => {
    for (const cacheMaxBytes of [-1, 1.5, Number.NaN]) {
      const error = await caught(() => start({ cacheMaxBytes }));
      expect(error).toBeInstanceOf(KmsConfigurationError);
      expect(error.message).toContain('cacheMaxBytes');
    }
  });
});
