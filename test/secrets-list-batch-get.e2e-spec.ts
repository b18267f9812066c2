import { KmsStorage } from '@nest-kms/kms/extension';
import {
  InvalidSecretInputError,
  SECRETS_BATCH_MAX_NAMES,
  SecretDeletedError,
  SecretExpiredError,
  SecretNotFoundError,
  type SecretReadResult,
  type SecretsModuleOptions,
} from '@nest-kms/secrets';
import { caught } from './support/caught.js';
import { DAY_MS, START } from './support/clock.js';
import { ENGINES, type TestDatabase } from './support/databases.js';
import { newMasterKey } from './support/kms-fixture.js';
import { createMigratedTestDatabase } from './support/migrated-databases.js';
import { startSecretsApp, type SecretsApp } from './support/secrets-fixture.js';
import { SqlRecorder } from './support/sql-recorder.js';

/** Statements that read secrets' current rows (the cache's misses), not the audit's writes. */
const currentReads = <T extends { query: string }>(statements: T[]): T[] =>
  statements.filter((s) => /SELECT .*current_envelope.* FROM kms_secrets/is.test(s.query));

/** A result as a test compares it: the error by class and code. */
const shape = (result: SecretReadResult) =>
  result.ok
    ? { name: result.name, ok: true, value: result.value, version: result.version }
    : {
        name: result.name,
        ok: false,
        error: result.error.constructor.name,
        code: result.error.code,
      };

describe.each(ENGINES)('SecretsService.getSecrets on %s', (engine) => {
  let db: TestDatabase;
  const apps: SecretsApp[] = [];
  let now: number;
  const clock = (): number => now;

  const start = async (secrets: SecretsModuleOptions, sql?: SqlRecorder) => {
    const app = await startSecretsApp(db, { masterKey: newMasterKey(), secrets, sql });
    apps.push(app);
    return app;
  };

  beforeEach(async () => {
    now = START;
    db = await createMigratedTestDatabase(engine);
  });

  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    await db.drop();
  });

  it('answers every name in order: values, and typed errors that do not fail the batch', async () => {
    const { secrets } = await start({ clock });
    await secrets.setSecret('db/password', 'first');
    await secrets.rotateSecret('db/password', 'second');
    await secrets.setSecret('api/key', 'key-value');
    await secrets.setSecret('old/token', 'gone');
    await secrets.deleteSecret('old/token');
    await secrets.setSecret('short/lived', 'brief', { ttlDays: 1 });
    now += 2 * DAY_MS;

    const results = await secrets.getSecrets([
      'api/key',
      'never/stored',
      'old/token',
      'short/lived',
      '-not a name',
      'db/password',
      'api/key',
    ]);
    expect(results.map(shape)).toEqual([
      { name: 'api/key', ok: true, value: 'key-value', version: 1 },
      { name: 'never/stored', ok: false, error: 'SecretNotFoundError', code: 'SECRET_NOT_FOUND' },
      { name: 'old/token', ok: false, error: 'SecretDeletedError', code: 'SECRET_DELETED' },
      { name: 'short/lived', ok: false, error: 'SecretExpiredError', code: 'SECRET_EXPIRED' },
      {
        name: '-not a name',
        ok: false,
        error: 'InvalidSecretInputError',
        code: 'SECRET_INVALID_INPUT',
      },
      { name: 'db/password', ok: true, value: 'second', version: 2 },
      { name: 'api/key', ok: true, value: 'key-value', version: 1 },
    ]);
    const errors = results.flatMap((result) => (result.ok ? [] : [result.error]));
    expect(errors[0]).toBeInstanceOf(SecretNotFoundError);
    expect(errors[1]).toBeInstanceOf(SecretDeletedError);
    expect(errors[2]).toBeInstanceOf(SecretExpiredError);
    expect(errors[3]).toBeInstanceOf(InvalidSecretInputError);
    expect(await secrets.getSecrets([])).toEqual([]);
  });

  it('serves cached values from the cache and reads every miss in one query', async () => {
    const sql = new SqlRecorder();
    const { secrets } = await start({ clock }, sql);
    const names = Array.from({ length: 12 }, (_, i) => `batch/${i}`);
    for (const name of names) await secrets.setSecret(name, `value of ${name}`);
    secrets.clearCache();
    // Three of them cached by single reads first.
    for (const name of names.slice(0, 3)) await secrets.getSecret(name);
    const before = await secrets.getStatus();

    const batch = sql.mark();
    const results = await secrets.getSecrets([...names, 'batch/missing']);
    expect(results.map((result) => (result.ok ? result.value : result.error.code))).toEqual([
      ...names.map((name) => `value of ${name}`),
      'SECRET_NOT_FOUND',
    ]);
    const reads = currentReads(batch());
    expect(reads).toHaveLength(1);
    expect([...reads[0].parameters].sort()).toEqual([...names.slice(3), 'batch/missing'].sort());
    const after = await secrets.getStatus();
    expect(after.cacheHits - before.cacheHits).toBe(3);
    expect(after.cacheMisses - before.cacheMisses).toBe(10);

    // Now every one of them is cached: the next batch reads no secret row at all.
    const cached = sql.mark();
    const again = await secrets.getSecrets(names);
    expect(again.every((result) => result.ok)).toBe(true);
    expect(currentReads(cached())).toEqual([]);
  });

  it('audits each name as getSecret does: successes with their version, refusals with their code', async () => {
    const app = await start({ clock, audit: { failClosed: true } });
    const { secrets } = app;
    await secrets.setSecret('cached/one', 'v');
    await secrets.getSecret('cached/one');
    await secrets.setSecret('uncached/two', 'v');
    await secrets.rotateSecret('uncached/two', 'v2');
    secrets.clearCache();
    await secrets.getSecret('cached/one');
    const dataSource = await app.app.get(KmsStorage).dataSource();
    const reads = () =>
      dataSource.query(
        "SELECT secret_name, version, actor, outcome, error_code FROM kms_secret_audit WHERE action = 'read' ORDER BY id",
      ) as Promise<Record<string, unknown>[]>;
    const earlier = (await reads()).length;

    await secrets.getSecrets(['cached/one', 'uncached/two', 'no/such'], { actor: 'batch-job' });
    const rows = (await reads()).slice(earlier).map((row) => ({
      ...row,
      version: row.version === null ? null : Number(row.version),
    }));
    expect(rows).toHaveLength(3);
    expect(rows).toEqual(
      expect.arrayContaining([
        {
          secret_name: 'cached/one',
          version: 1,
          actor: 'batch-job',
          outcome: 'success',
          error_code: null,
        },
        {
          secret_name: 'uncached/two',
          version: 2,
          actor: 'batch-job',
          outcome: 'success',
          error_code: null,
        },
        {
          secret_name: 'no/such',
          version: null,
          actor: 'batch-job',
          outcome: 'failure',
          error_code: 'SECRET_NOT_FOUND',
        },
      ]),
    );
  });

  it('refuses a batch over the maximum, or not a list of names, and reads nothing', async () => {
    const sql = new SqlRecorder();
    const { secrets } = await start({ clock }, sql);
    const tooMany = Array.from({ length: SECRETS_BATCH_MAX_NAMES + 1 }, (_, i) => `n/${i}`);
    const statements = sql.mark();
    for (const names of [tooMany, 'one/name', [1, 2], null]) {
      const error = await caught(() => secrets.getSecrets(names as string[]));
      expect(error).toBeInstanceOf(InvalidSecretInputError);
      expect(error).toMatchObject({ code: 'SECRET_INVALID_INPUT', field: 'names' });
    }
    const actor = await caught(() => secrets.getSecrets(['a'], { actor: 'x'.repeat(200) }));
    expect(actor).toMatchObject({ code: 'SECRET_INVALID_INPUT', field: 'actor' });
    expect(statements()).toEqual([]);
    const most = await secrets.getSecrets(tooMany.slice(1));
    expect(most).toHaveLength(SECRETS_BATCH_MAX_NAMES);
  });
});
