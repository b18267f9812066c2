import { randomUUID } from 'node:crypto';
import type { KmsStorage } from '@nest-kms/kms/extension';
import { DataSource, QueryFailedError } from 'typeorm';
import type { SecretAuditEntity } from '../entities/secret-audit.entity.js';
import { AddAuditRecordId1767744000000 } from '../migrations/1767744000000-add-audit-record-id.js';
import { SECRETS_MIGRATIONS } from '../secrets.constants.js';
import { insertAuditRows, isRecordRefusal } from './audit-insert.js';

/** What a real driver reports for `sql`, as TypeORM hands it on. */
async function failureOf(dataSource: DataSource, sql: string): Promise<unknown> {
  try {
    await dataSource.query(sql);
  } catch (error) {
    return error;
  }
  throw new Error(`expected ${sql} to fail`);
}

describe('isRecordRefusal: what a failed audit insert may give up on', () => {
  let sqlite: DataSource;

  beforeAll(async () => {
    sqlite = await new DataSource({ type: 'better-sqlite3', database: ':memory:' }).initialize();
    await sqlite.query('CREATE TABLE audit (actor TEXT NOT NULL CHECK (length(actor) <= 8))');
  });

  afterAll(() => sqlite.destroy());

  it('a record the table refuses (SQLite constraint errors) is a refusal', async () => {
    expect(isRecordRefusal(await failureOf(sqlite, 'INSERT INTO audit VALUES (NULL)'))).toBe(true);
    expect(isRecordRefusal(await failureOf(sqlite, "INSERT INTO audit VALUES ('123456789')"))).toBe(
      true,
    );
  });

  it('a missing table is not: the records are kept for the retry', async () => {
    const missing = await failureOf(sqlite, "INSERT INTO audit_moved VALUES ('x')");
    expect(missing).toBeInstanceOf(QueryFailedError);
    expect(isRecordRefusal(missing)).toBe(false);
  });

  it.each([
    ['22001', true, 'value too long'],
    ['22P05', true, 'untranslatable character (NUL)'],
    ['23502', true, 'not-null violation'],
    ['42P01', false, 'undefined table'],
    ['57014', false, 'statement timeout'],
    ['08006', false, 'connection failure'],
  ])('Postgres SQLSTATE %s is a refusal: %s (%s)', (code, refusal) => {
    const error = new QueryFailedError('INSERT', [], Object.assign(new Error('x'), { code }));
    expect(isRecordRefusal(error)).toBe(refusal);
  });

  it('anything that is not a query failure is not', () => {
    expect(isRecordRefusal(new Error('x'))).toBe(false);
    expect(isRecordRefusal(undefined)).toBe(false);
  });
});

describe('insertAuditRows: each record once, however often it is written', () => {
  let sqlite: DataSource;
  const storage = {
    run: <T>(work: (dataSource: DataSource) => Promise<T>) => work(sqlite),
  } as unknown as KmsStorage;
  const record = (actor: string) =>
    ({
      recordId: randomUUID(),
      at: 1_767_744_000_000,
      action: 'read',
      secretName: 'API_KEY',
      version: 1,
      actor,
      outcome: 'success',
      errorCode: null,
    }) as SecretAuditEntity;
  const actors = async (): Promise<string[]> =>
    (
      (await sqlite.query('SELECT actor FROM kms_secret_audit ORDER BY id')) as { actor: string }[]
    ).map((row) => row.actor);

  /** The tables as the library's migrations make them (all of them, or those given). */
  const migrate = async (migrations = SECRETS_MIGRATIONS): Promise<void> => {
    const runner = sqlite.createQueryRunner();
    for (const Migration of migrations) await new Migration().up(runner);
    await runner.release();
  };

  beforeEach(async () => {
    sqlite = await new DataSource({ type: 'better-sqlite3', database: ':memory:' }).initialize();
  });

  afterEach(() => sqlite.destroy());

  it('a batch written twice (a retry of a write that committed after all) adds nothing', async () => {
    await migrate();
    const batch = [record('a'), record('b'), record('c')];
    await insertAuditRows(storage, batch);
    await insertAuditRows(storage, batch);
    // A retry may carry records made since: only those are added.
    await insertAuditRows(storage, [...batch, record('d')]);
    expect(await actors()).toEqual(['a', 'b', 'c', 'd']);
  });

  it('one row at a time after a batch adds nothing either, and raises no refusal', async () => {
    await migrate();
    const batch = [record('a'), record('b')];
    await insertAuditRows(storage, batch);
    for (const row of batch) await expect(insertAuditRows(storage, [row])).resolves.toBeUndefined();
    expect(await actors()).toEqual(['a', 'b']);
  });

  it('keeps the rows written before records had ids: NULL ids, which conflict with nothing', async () => {
    const upgrade = SECRETS_MIGRATIONS.indexOf(AddAuditRecordId1767744000000);
    await migrate(SECRETS_MIGRATIONS.slice(0, upgrade));
    const legacy =
      "INSERT INTO kms_secret_audit (at, action, actor, outcome) VALUES (1, 'read', 'old', 'success')";
    await sqlite.query(legacy);
    await sqlite.query(legacy);
    await migrate(SECRETS_MIGRATIONS.slice(upgrade));
    await sqlite.query(legacy);
    await insertAuditRows(storage, [record('new')]);
    const rows = (await sqlite.query(
      'SELECT actor, record_id FROM kms_secret_audit ORDER BY id',
    )) as { actor: string; record_id: string | null }[];
    expect(rows).toEqual([
      { actor: 'old', record_id: null },
      { actor: 'old', record_id: null },
      { actor: 'old', record_id: null },
      { actor: 'new', record_id: expect.any(String) },
    ]);
  });
});
