import { randomBytes } from 'node:crypto';
import { ColumnDecryptionError } from '@nest-kms/kms';
import { caught } from './support/caught.js';
import { ENGINES, createTestDatabase, type TestDatabase } from './support/databases.js';
import { newMasterKey } from './support/kms-fixture.js';
import { sqlQuery as query } from './support/kms-tables.js';
import { UserProfile, startProfilesApp, type ProfilesApp } from './support/profiles-fixture.js';
import { SqlRecorder } from './support/sql-recorder.js';

/*
 * A load of many rows opens their encrypted values together (one batch through the keyring):
 * every row gets its own values, a value that cannot be read fails the load naming its row, and
 * a data key the process does not hold is read once for all the rows under it.
 */

const ROWS = 300;

describe.each(ENGINES)('encrypted columns loaded in batches on %s', (engine) => {
  const masterKey = newMasterKey();
  let db: TestDatabase;
  let sql: SqlRecorder;
  let app: ProfilesApp;
  const profiles = () => app.dataSource.getRepository(UserProfile);

  beforeEach(async () => {
    db = await createTestDatabase(engine);
    sql = new SqlRecorder();
    app = await startProfilesApp(db, masterKey, sql);
  });
  afterEach(async () => {
    await app.close();
    await db.drop();
  });

  /** `count` rows, each with its own values (ssn bound to its userId), as saved. */
  async function saveRows(into: ProfilesApp, count: number): Promise<UserProfile[]> {
    const repository = into.dataSource.getRepository(UserProfile);
    const rows = Array.from({ length: count }, (_, at) =>
      repository.create({
        userId: `user-${at}`,
        ssn: `ssn-${at}-${randomBytes(4).toString('hex')}`,
        bankAccount: { iban: `iban-${at}`, bic: 'BIC' },
        email: null,
      }),
    );
    return repository.save(rows);
  }

  const byId = (rows: readonly UserProfile[]) => new Map(rows.map((row) => [row.id, row]));

  it(`loads ${ROWS} rows, each with its own values`, async () => {
    const saved = byId(await saveRows(app, ROWS));
    const loaded = await profiles().find();
    expect(loaded).toHaveLength(ROWS);
    for (const row of loaded) {
      const expected = saved.get(row.id)!;
      expect(row).toMatchObject({
        userId: expected.userId,
        ssn: expected.ssn,
        bankAccount: expected.bankAccount,
      });
    }
  });

  it('fails the load on a tampered value, naming its row and column, and reports it', async () => {
    const saved = await saveRows(app, 20);
    const victim = saved[13];
    const [row] = await query(app.dataSource, 'SELECT ssn FROM test_user_profiles WHERE id = ?', [
      victim.id,
    ]);
    const parts = String((row as { ssn: string }).ssn).split('.');
    parts[5] = parts[5].startsWith('A') ? `B${parts[5].slice(1)}` : `A${parts[5].slice(1)}`;
    await query(app.dataSource, 'UPDATE test_user_profiles SET ssn = ? WHERE id = ?', [
      parts.join('.'),
      victim.id,
    ]);
    const failures = app.kms.getStatus().decryptionFailures;
    const error = await caught(() => profiles().find());
    expect(error).toBeInstanceOf(ColumnDecryptionError);
    expect(error).toMatchObject({
      column: 'ssn',
      rowId: victim.id,
      reason: 'KMS_DECRYPTION_FAILED',
    });
    expect(error.message).not.toContain(victim.ssn!);
    expect(app.kms.getStatus().decryptionFailures).toBe(failures + 1);
    // The other rows still load one by one.
    expect(await profiles().findOneByOrFail({ id: saved[12].id })).toMatchObject({
      ssn: saved[12].ssn,
    });
  });

  it('a value moved to another row fails the load: each value stays bound to its own row', async () => {
    const [first, second] = await saveRows(app, 2);
    const [row] = await query(app.dataSource, 'SELECT ssn FROM test_user_profiles WHERE id = ?', [
      first.id,
    ]);
    await query(app.dataSource, 'UPDATE test_user_profiles SET ssn = ? WHERE id = ?', [
      (row as { ssn: string }).ssn,
      second.id,
    ]);
    const error = await caught(() => profiles().find());
    expect(error).toMatchObject({ column: 'ssn', rowId: second.id });
  });

  it("reads another app's new data key once for all the rows under it", async () => {
    const other = await startProfilesApp(db, masterKey, new SqlRecorder());
    try {
      const { keyId } = await other.kms.rotateDataKey();
      const saved = byId(await saveRows(other, 50));
      const statements = sql.mark();
      const loaded = await profiles().find();
      expect(loaded).toHaveLength(50);
      for (const row of loaded) expect(row.ssn).toBe(saved.get(row.id)!.ssn);
      const keyReads = statements().filter((statement) => statement.parameters.includes(keyId));
      expect(keyReads.length).toBeLessThanOrEqual(1);
    } finally {
      await other.close();
    }
  });
});
