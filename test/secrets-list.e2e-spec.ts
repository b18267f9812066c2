import { DataSource, type DataSourceOptions } from 'typeorm';
import { KMS_MIGRATIONS } from '@nest-kms/kms';
import { KmsStorage } from '@nest-kms/kms/extension';
import {
  InvalidSecretInputError,
  SECRETS_LIST_MAX_LIMIT,
  SECRETS_MIGRATIONS,
  type ListSecretsOptions,
  type SecretsFilter,
  type SecretsService,
} from '@nest-kms/secrets';
import { caught } from './support/caught.js';
import { ENGINES, type TestDatabase } from './support/databases.js';
import { newMasterKey } from './support/kms-fixture.js';
import { createMigratedTestDatabase } from './support/migrated-databases.js';
import { startSecretsApp, type SecretsApp } from './support/secrets-fixture.js';
import { SqlRecorder } from './support/sql-recorder.js';

/** Names in byte order: upper case before lower, `-` before `/` before letters. */
const byBytes = (names: Iterable<string>): string[] =>
  [...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

/** Every name of a walk of pages of `limit`, `between(cursor)` running after each page. */
async function walk(
  secrets: SecretsService,
  options: Omit<ListSecretsOptions, 'limit' | 'after'> & { limit: number },
  between: (cursor: string) => Promise<void> = async () => undefined,
): Promise<{ names: string[]; pages: number }> {
  const names: string[] = [];
  let after: string | undefined;
  let pages = 0;
  for (;;) {
    const page = await secrets.listSecrets({ ...options, after });
    pages++;
    expect(page.secrets.length).toBeLessThanOrEqual(options.limit);
    names.push(...page.secrets.map((secret) => secret.name));
    if (page.nextCursor === null) return { names, pages };
    expect(page.secrets).toHaveLength(options.limit);
    expect(page.nextCursor).toBe(page.secrets.at(-1)?.name);
    after = page.nextCursor;
    await between(after);
  }
}

describe.each(ENGINES)('listing many secrets on %s', (engine) => {
  let db: TestDatabase;
  const apps: SecretsApp[] = [];
  const masterKey = newMasterKey();

  const start = async (sql?: SqlRecorder): Promise<SecretsApp> => {
    const app = await startSecretsApp(db, { masterKey, sql });
    apps.push(app);
    return app;
  };

  beforeEach(async () => {
    db = await createMigratedTestDatabase(engine);
  });

  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    await db.drop();
  });

  it('walks every secret exactly once, in byte order, while secrets come and go between pages', async () => {
    const { secrets } = await start();
    const initial = Array.from({ length: 30 }, (_, i) => `svc/${String(i).padStart(2, '0')}`);
    for (const name of initial) await secrets.setSecret(name, `value of ${name}`);
    const deletedAhead: string[] = [];
    const deletedBehind: string[] = [];
    const createdAhead: string[] = [];
    let step = 0;
    const { names, pages } = await walk(secrets, { limit: 4 }, async (cursor) => {
      step++;
      // Before the cursor (never to be seen), after it (to be seen), and deletions of each kind.
      await secrets.setSecret(`A/created-behind-${step}`, 'v');
      const ahead = `svc/${cursor.slice(4)}~${step}`.replace('~', '_');
      await secrets.setSecret(ahead, 'v');
      createdAhead.push(ahead);
      const notYetSeen = initial.find((name) => name > cursor && !deletedAhead.includes(name));
      if (notYetSeen !== undefined) {
        await secrets.deleteSecret(notYetSeen);
        deletedAhead.push(notYetSeen);
      }
      const seen = initial.find(
        (name) => name <= cursor && !deletedBehind.includes(name) && !deletedAhead.includes(name),
      );
      if (seen !== undefined) {
        await secrets.deleteSecret(seen);
        deletedBehind.push(seen);
      }
    });
    expect(pages).toBeGreaterThan(5);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual(byBytes(names));
    const livedThroughout = initial.filter((name) => !deletedAhead.includes(name));
    expect(names).toEqual(expect.arrayContaining([...livedThroughout, ...createdAhead]));
    for (const gone of deletedAhead) expect(names).not.toContain(gone);
    expect(names.filter((name) => name.startsWith('A/'))).toEqual([]);
    // What is left, walked again from the start, is exactly what a full listing holds.
    const all = (await secrets.listSecrets()).map((secret) => secret.name);
    expect((await walk(secrets, { limit: 7 })).names).toEqual(all);
    expect(all).toEqual(byBytes(all));
  });

  it('says when no page remains: the last full page has no cursor, an empty store one empty page', async () => {
    const { secrets } = await start();
    expect(await secrets.listSecrets({ limit: 5 })).toEqual({ secrets: [], nextCursor: null });
    for (const name of ['a', 'b', 'c', 'd']) await secrets.setSecret(name, 'v');
    expect(await secrets.listSecrets({ limit: 4 })).toMatchObject({ nextCursor: null });
    const first = await secrets.listSecrets({ limit: 3 });
    expect(first.secrets.map((s) => s.name)).toEqual(['a', 'b', 'c']);
    expect(first.nextCursor).toBe('c');
    const last = await secrets.listSecrets({ limit: 3, after: 'c' });
    expect(last).toMatchObject({ secrets: [expect.objectContaining({ name: 'd' })] });
    expect(last.nextCursor).toBeNull();
    // A cursor is a name, not a position: any name works, stored or not.
    const fromB = await secrets.listSecrets({ limit: 10, after: 'b0' });
    expect(fromB.secrets.map((s) => s.name)).toEqual(['c', 'd']);
  });

  it('filters by name prefix, byte for byte, in pages and whole', async () => {
    const { secrets } = await start();
    const stored = ['ap', 'app-x', 'app/a', 'app/b', 'app/c/d', 'apple', 'App/upper', 'b/app/x'];
    for (const name of stored) await secrets.setSecret(name, 'v');
    const names = async (filter: SecretsFilter) =>
      (await secrets.listSecrets(filter)).map((s) => s.name);
    expect(await names({ prefix: 'app/' })).toEqual(['app/a', 'app/b', 'app/c/d']);
    expect(await names({ prefix: 'app' })).toEqual(['app-x', 'app/a', 'app/b', 'app/c/d', 'apple']);
    expect(await names({ prefix: 'App' })).toEqual(['App/upper']);
    expect(await names({ prefix: 'zzz' })).toEqual([]);
    expect((await walk(secrets, { prefix: 'app', limit: 2 })).names).toEqual(
      await names({ prefix: 'app' }),
    );
    expect(await secrets.countSecrets({ prefix: 'app' })).toBe(5);
    expect(await secrets.countSecrets({ prefix: 'app/' })).toBe(3);
    expect(await secrets.countSecrets()).toBe(stored.length);
  });

  it('filters by tag in SQL as the tags change: set, rotate, delete, recover, destroy', async () => {
    const { secrets } = await start();
    await secrets.setSecret('db/main', 'v', { tags: { team: 'core', env: 'prod' } });
    await secrets.setSecret('db/replica', 'v', { tags: { team: 'core', env: 'staging' } });
    await secrets.setSecret('mail/smtp', 'v', { tags: { team: 'mail' } });
    await secrets.setSecret('untagged', 'v');
    const tagged = async (tag: string, prefix?: string) =>
      (await secrets.listSecrets({ tag, prefix })).map((s) => s.name);

    expect(await tagged('team')).toEqual(['db/main', 'db/replica', 'mail/smtp']);
    expect(await tagged('team=core')).toEqual(['db/main', 'db/replica']);
    expect(await tagged('env=prod')).toEqual(['db/main']);
    expect(await tagged('team=core', 'db/r')).toEqual(['db/replica']);
    expect(await tagged('team=nobody')).toEqual([]);
    expect(await tagged('team=co')).toEqual([]);
    expect(await secrets.countSecrets({ tag: 'team=core' })).toBe(2);
    const page = await secrets.listSecrets({ tag: 'team', limit: 2 });
    expect(page.secrets.map((s) => s.name)).toEqual(['db/main', 'db/replica']);
    expect(page.secrets[0].tags).toEqual({ env: 'prod', team: 'core' });
    expect(
      (await secrets.listSecrets({ tag: 'team', limit: 2, after: page.nextCursor! })).secrets.map(
        (s) => s.name,
      ),
    ).toEqual(['mail/smtp']);

    // New tags replace the old ones; a rotation or a set without tags keeps them.
    await secrets.setSecret('db/replica', 'v2', { tags: { team: 'mail' } });
    await secrets.rotateSecret('db/main', 'v3');
    await secrets.setSecret('mail/smtp', 'v4');
    expect(await tagged('team=core')).toEqual(['db/main']);
    expect(await tagged('team=mail')).toEqual(['db/replica', 'mail/smtp']);
    expect(await tagged('env')).toEqual(['db/main']);

    await secrets.deleteSecret('db/main');
    expect(await tagged('team=core')).toEqual([]);
    expect(await secrets.countSecrets({ tag: 'team=core' })).toBe(0);
    await secrets.recoverSecret('db/main');
    expect(await tagged('team=core')).toEqual(['db/main']);
    await secrets.deleteSecret('db/main');
    await secrets.destroySecret('db/main');
    await secrets.setSecret('db/main', 'new', { tags: { team: 'other' } });
    expect(await tagged('team=core')).toEqual([]);
    expect(await tagged('env')).toEqual([]);
    expect(await tagged('team=other')).toEqual(['db/main']);
  });

  it('restores the tags of a backup with its secrets', async () => {
    const source = await start();
    await source.secrets.setSecret('api/key', 'v', { tags: { team: 'core' } });
    await source.secrets.setSecret('api/other', 'v', { tags: { team: 'edge' } });
    const { artifact } = await source.secrets.backupSecrets();
    await source.close();
    apps.splice(0);
    await db.drop();
    db = await createMigratedTestDatabase(engine);
    const target = await start();
    await target.secrets.restoreSecrets(artifact);
    expect((await target.secrets.listSecrets({ tag: 'team=core' })).map((s) => s.name)).toEqual([
      'api/key',
    ]);
  });

  it('copies the tags of secrets stored before the tags table existed (the migration backfills)', async () => {
    const first = await start();
    await first.secrets.setSecret('old/a', 'v', { tags: { team: 'core', tier: 'gold' } });
    await first.secrets.setSecret('old/b', 'v', { tags: { team: 'edge' } });
    await first.secrets.setSecret('old/c', 'v');
    await first.close();
    apps.splice(0);
    // Back to the schema before the tags table: its migration undone, as if never run.
    const dataSource = await new DataSource({
      ...db.connection,
      migrations: [...KMS_MIGRATIONS, ...SECRETS_MIGRATIONS],
    } as DataSourceOptions).initialize();
    try {
      const addTags = SECRETS_MIGRATIONS.map((Migration) => new Migration()).find(
        (migration) => migration.name === 'AddSecretTags1768089600000',
      )!;
      const runner = dataSource.createQueryRunner();
      await addTags.down(runner);
      await runner.release();
      await dataSource.query(
        `DELETE FROM migrations WHERE name = ${engine === 'postgres' ? '$1' : '?'}`,
        ['AddSecretTags1768089600000'],
      );
    } finally {
      await dataSource.destroy();
    }
    const { secrets } = await start();
    expect((await secrets.listSecrets({ tag: 'team' })).map((s) => s.name)).toEqual([
      'old/a',
      'old/b',
    ]);
    expect((await secrets.listSecrets({ tag: 'tier=gold' })).map((s) => s.name)).toEqual(['old/a']);
    expect(await secrets.countSecrets({ tag: 'team=edge' })).toBe(1);
  });

  it('never selects an envelope to list or count', async () => {
    const sql = new SqlRecorder();
    const { secrets } = await start(sql);
    await secrets.setSecret('one', 'v', { tags: { k: 'v' } });
    const listing = sql.mark();
    await secrets.listSecrets();
    await secrets.listSecrets({ limit: 10, prefix: 'o', tag: 'k=v', after: 'a' });
    await secrets.countSecrets({ tag: 'k' });
    const statements = listing().map((statement) => statement.query);
    expect(statements.length).toBeGreaterThanOrEqual(3);
    for (const statement of statements) expect(statement).not.toMatch(/envelope/i);
  });

  it.each([
    ['a limit of 0', { limit: 0 }, 'limit'],
    ['a limit over the maximum', { limit: SECRETS_LIST_MAX_LIMIT + 1 }, 'limit'],
    ['a fractional limit', { limit: 2.5 }, 'limit'],
    ['a limit given as text', { limit: '10' }, 'limit'],
    ['a cursor that is no name', { limit: 5, after: '-x' }, 'after'],
    ['a cursor of another type', { limit: 5, after: 5 }, 'after'],
    ['an empty prefix', { prefix: '' }, 'prefix'],
    ['a prefix with a space', { prefix: 'a b' }, 'prefix'],
    ['an empty tag', { tag: '' }, 'tag'],
    ['a tag without a key', { tag: '=v' }, 'tag'],
    ['a tag over 385 characters', { tag: `k=${'v'.repeat(400)}` }, 'tag'],
  ])('refuses %s with InvalidSecretInputError', async (_, options, field) => {
    const { secrets } = await start();
    const error = await caught(() => secrets.listSecrets(options as unknown as ListSecretsOptions));
    expect(error).toBeInstanceOf(InvalidSecretInputError);
    expect(error).toMatchObject({ code: 'SECRET_INVALID_INPUT', field });
    if (field !== 'limit' && field !== 'after') {
      const count = await caught(() => secrets.countSecrets(options as SecretsFilter));
      expect(count).toMatchObject({ code: 'SECRET_INVALID_INPUT', field });
    }
  });

  it('keeps the tags table replicable: it has a primary key', async () => {
    const { app } = await start();
    const dataSource = await app.get(KmsStorage).dataSource();
    const runner = dataSource.createQueryRunner();
    try {
      const table = await runner.getTable('kms_secret_tags');
      expect(table?.primaryColumns.map((column) => column.name).sort()).toEqual([
        'secret_name',
        'tag',
      ]);
    } finally {
      await runner.release();
    }
  });
});
