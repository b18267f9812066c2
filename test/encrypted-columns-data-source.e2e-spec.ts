import { TypeOrmModule, getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import {
  ColumnNotServedError,
  KMS_ENTITIES,
  KmsConfigurationError,
  KmsModule,
  NestKmsError,
} from '@nest-kms/kms';
import { caught } from './support/caught.js';
import { ENGINES, createTestDatabase, type TestDatabase } from './support/databases.js';
import { newMasterKey, startTestApp } from './support/kms-fixture.js';
import { sqlQuery as query } from './support/kms-tables.js';
import { UserProfile, startProfilesApp } from './support/profiles-fixture.js';
import { SqlRecorder } from './support/sql-recorder.js';

/*
 * An entity with encrypted columns is sealed by the KMS attached to the DataSource it is written
 * through. With KmsModule on its own `connection`, the application's DataSource has none: the
 * write is refused, before any SQL, with advice to configure KmsModule with `dataSource`.
 */

const SSN = 'ssn-never-in-the-database';
/** How the message says to put the entity in the DataSource KmsModule then names. */
const HOW =
  "list UserProfile and ...KMS_ENTITIES in the entities of your TypeORM DataSource (...KMS_MIGRATIONS in its migrations) and pass its name, e.g. KmsModule.forRoot({ dataSource: 'default' })";

describe.each(ENGINES)('an @EncryptedColumn entity and the KMS DataSource on %s', (engine) => {
  let db: TestDatabase;
  let kmsDb: TestDatabase;
  const closing: { close(): Promise<void> }[] = [];

  beforeEach(async () => {
    db = await createTestDatabase(engine);
    kmsDb = await createTestDatabase(engine);
  });

  afterEach(async () => {
    for (const app of closing.splice(0)) await app.close();
    await db.drop();
    await kmsDb.drop();
  });

  async function profilesApp(...args: Parameters<typeof startProfilesApp>) {
    const app = await startProfilesApp(...args);
    closing.push(app);
    return app;
  }

  async function savedRows(dataSource: DataSource): Promise<unknown[]> {
    return query(dataSource, 'SELECT * FROM test_user_profiles');
  }

  it('refuses a save while KmsModule uses `connection`, naming the entity and the `dataSource` form, before any SQL', async () => {
    const sql = new SqlRecorder();
    const app = await profilesApp(
      db,
      newMasterKey(),
      sql,
      { dataSource: undefined, connection: kmsDb.connection },
      [UserProfile],
    );
    const profiles = app.dataSource.getRepository(UserProfile);
    const sent = sql.mark();

    const error = await caught(() => profiles.save(profiles.create({ userId: 'u-1', ssn: SSN })));

    expect(error).toBeInstanceOf(ColumnNotServedError);
    expect(error).toBeInstanceOf(KmsConfigurationError);
    expect(error).toBeInstanceOf(NestKmsError);
    const refusal = error as ColumnNotServedError;
    expect(refusal.code).toBe('KMS_COLUMN_NOT_SERVED');
    expect([refusal.entity, refusal.column]).toEqual(['UserProfile', 'ssn']);
    expect(refusal.message).toContain(
      'UserProfile.ssn is an encrypted column, but no initialised KMS serves the DataSource',
    );
    expect(refusal.message).toContain('KmsModule was configured with `connection`');
    expect(refusal.message).toContain(
      `configure KmsModule with \`dataSource\` instead of \`connection\`: ${HOW}`,
    );
    expect(refusal.message).not.toContain(SSN);
    expect(sent().filter((statement) => /\bINSERT\b/i.test(statement.query))).toEqual([]);
    expect(JSON.stringify(sent())).not.toContain(SSN);
    expect(await savedRows(app.dataSource)).toEqual([]);
  });

  it('serves the same entity once KmsModule is configured as the error says', async () => {
    const sql = new SqlRecorder();
    const app = await profilesApp(db, newMasterKey(), sql, { dataSource: 'default' }, [
      UserProfile,
    ]);
    const profiles = app.dataSource.getRepository(UserProfile);

    const saved = await profiles.save(profiles.create({ userId: 'u-1', ssn: SSN }));

    const [row] = (await savedRows(app.dataSource)) as { ssn: string }[];
    expect(row.ssn).toMatch(/^kms2\.column\./);
    expect(sql.text()).not.toContain(SSN);
    expect((await profiles.findOneByOrFail({ id: saved.id })).ssn).toBe(SSN);
  });

  it('names the DataSource the KMS uses when the entity is in another one', async () => {
    const connection = (name?: string) =>
      ({ ...db.connection, name, synchronize: true }) as Parameters<
        typeof TypeOrmModule.forRoot
      >[0];
    const { app } = await startTestApp({
      imports: [
        TypeOrmModule.forRoot({ ...connection(), entities: KMS_ENTITIES }),
        TypeOrmModule.forRoot({ ...connection('profiles'), entities: [UserProfile] }),
        KmsModule.forRoot({ masterKey: newMasterKey(), dataSource: 'default' }),
      ],
    });
    closing.push(app);
    const profilesSource = app.get<DataSource>(getDataSourceToken('profiles'));
    const profiles = profilesSource.getRepository(UserProfile);

    const error = await caught(() => profiles.save(profiles.create({ userId: 'u-1', ssn: SSN })));

    expect(error).toBeInstanceOf(ColumnNotServedError);
    expect(error.message).toContain(
      "KmsModule is configured with `dataSource` ('default'), which does not include UserProfile: list UserProfile in the entities of that DataSource",
    );
    expect(await savedRows(profilesSource)).toEqual([]);
  });

  it('before the KMS has started, says to let it start first, and the save works once it has', async () => {
    const app = await profilesApp(
      db,
      newMasterKey(),
      new SqlRecorder(),
      { initializeOnStart: false },
      [UserProfile],
    );
    const profiles = app.dataSource.getRepository(UserProfile);

    const error = await caught(() => profiles.save(profiles.create({ userId: 'u-1', ssn: SSN })));

    expect(error).toBeInstanceOf(ColumnNotServedError);
    expect(error.message).toContain('no KMS has initialised in this process');
    expect(error.message).toContain('await kms.initialize() in an onModuleInit');
    expect(error.message).toContain(`otherwise configure KmsModule with \`dataSource\`: ${HOW}`);
    expect(await savedRows(app.dataSource)).toEqual([]);

    await app.kms.initialize();
    const saved = await profiles.save(profiles.create({ userId: 'u-1', ssn: SSN }));
    expect((await profiles.findOneByOrFail({ id: saved.id })).ssn).toBe(SSN);
  });
});
