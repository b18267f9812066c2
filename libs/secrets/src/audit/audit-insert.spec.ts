import { DataSource, QueryFailedError } from 'typeorm';
import { isRecordRefusal } from './audit-insert.js';

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
