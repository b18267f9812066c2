import { IsString, MinLength } from 'class-validator';
import { firstValueFrom } from 'rxjs';
import { FromSecret, importSecretsFromEnv, type ConfigFieldChange } from '@nest-kms/config';
import {
  LeakWatch,
  isolateEnv,
  loggedEvents,
  seedSecrets,
  startConfigApp,
  type ConfigApp,
} from './support/config-fixture.js';
import { createTestDatabase, type TestDatabase } from './support/databases.js';
import { newMasterKey } from './support/kms-fixture.js';
import { eventually } from './support/eventually.js';

const leaks = new LeakWatch();

/** Mid-migration: both secrets may still come from the environment. */
class AppConfig {
  @FromSecret('JWT_SECRET', { fallbackToEnv: true }) @IsString() @MinLength(32) jwtSecret: string;
  @FromSecret('DATABASE_URL', { fallbackToEnv: true, envName: 'LEGACY_DB_URL' })
  @IsString()
  databaseUrl: string;
  @FromSecret('SIGNING_SALT') @IsString() signingSalt = 'development-salt-only';
}

describe('migrating secrets from the environment', () => {
  let db: TestDatabase;
  let masterKey: string;
  let app: ConfigApp<AppConfig> | undefined;

  isolateEnv();

  beforeEach(async () => {
    db = await createTestDatabase('sqlite');
    masterKey = newMasterKey();
  });

  afterEach(async () => {
    await app?.close();
    app = undefined;
    await db.drop();
  });

  afterAll(() => leaks.assertNoLeaks());

  const start = async () => {
    app = await startConfigApp(db, { masterKey, schema: AppConfig });
    return app;
  };
  const versions = async (name: string) =>
    (await (app as ConfigApp<AppConfig>).secrets.listSecretVersions(name)).length;

  it('warns, naming the field and never the value, when a secret comes from the environment', async () => {
    const jwt = leaks.value('jwt');
    const url = leaks.value('url');
    process.env.JWT_SECRET = jwt;
    process.env.LEGACY_DB_URL = url;
    const before = loggedEvents('config_secret_from_env').length;
    const { config, loader } = await start();

    expect(config.jwtSecret).toBe(jwt);
    expect(config.databaseUrl).toBe(url);
    const warnings = loggedEvents('config_secret_from_env').slice(before);
    expect(warnings.map(({ field, secret, env }) => ({ field, secret, env }))).toEqual([
      { field: 'jwtSecret', secret: 'JWT_SECRET', env: 'JWT_SECRET' },
      { field: 'databaseUrl', secret: 'DATABASE_URL', env: 'LEGACY_DB_URL' },
    ]);
    expect(loggedEvents('config_secret_from_default').at(-1)).toMatchObject({
      field: 'signingSalt',
      secret: 'SIGNING_SALT',
    });
    expect(loader.getStatus().fields.databaseUrl).toMatchObject({
      source: 'env',
      key: 'LEGACY_DB_URL',
    });
  });

  it('imports the variables in one step, idempotently, and switches the fields to the store', async () => {
    const jwt = leaks.value('jwt');
    const url = leaks.value('url');
    process.env.JWT_SECRET = jwt;
    process.env.LEGACY_DB_URL = url;
    const { loader, config } = await start();
    const switched: ConfigFieldChange[] = [];
    loader.changes.subscribe((change) => switched.push(change));

    const first = await loader.importFromEnv();
    expect(first).toEqual({
      created: ['JWT_SECRET', 'DATABASE_URL'],
      updated: [],
      unchanged: [],
      conflicts: [],
      missing: ['SIGNING_SALT'],
      failed: [],
    });
    expect(await versions('JWT_SECRET')).toBe(1);
    expect(await versions('DATABASE_URL')).toBe(1);
    await eventually(() => expect(switched).toHaveLength(2));
    expect(
      switched.map(({ field, source, previousSource, reason }) => [
        field,
        previousSource,
        source,
        reason,
      ]),
    ).toEqual([
      ['jwtSecret', 'env', 'secret', 'created'],
      ['databaseUrl', 'env', 'secret', 'created'],
    ]);
    expect(loader.getStatus().fields.jwtSecret.source).toBe('secret');
    expect(config.databaseUrl).toBe(url);

    const second = await loader.importFromEnv();
    expect(second.unchanged).toEqual(['JWT_SECRET', 'DATABASE_URL']);
    expect([second.created, second.updated, second.conflicts]).toEqual([[], [], []]);
    expect(await versions('JWT_SECRET')).toBe(1);
    expect(await versions('DATABASE_URL')).toBe(1);
    const report = JSON.stringify(loggedEvents('config_secrets_imported'));
    expect(report).toContain('JWT_SECRET');
    leaks.text(report);
  });

  it('reports a different stored value as a conflict and writes nothing unless told to overwrite', async () => {
    const stored = leaks.value('stored-jwt');
    const fromEnv = leaks.value('env-jwt');
    await seedSecrets(db, masterKey, { JWT_SECRET: stored });
    process.env.JWT_SECRET = fromEnv;
    process.env.LEGACY_DB_URL = leaks.value('url');
    const { loader, config, secrets } = await start();
    expect(loggedEvents('config_env_still_set').at(-1)).toMatchObject({
      field: 'jwtSecret',
      env: 'JWT_SECRET',
    });

    const refused = await loader.importFromEnv(['JWT_SECRET']);
    expect(refused.conflicts).toEqual(['JWT_SECRET']);
    expect(await versions('JWT_SECRET')).toBe(1);
    expect(await secrets.getSecret('JWT_SECRET')).toBe(stored);

    const changed = firstValueFrom(loader.changes);
    const forced = await loader.importFromEnv(['JWT_SECRET'], { overwrite: true });
    expect(forced.updated).toEqual(['JWT_SECRET']);
    expect(await versions('JWT_SECRET')).toBe(2);
    expect(await changed).toMatchObject({
      field: 'jwtSecret',
      reason: 'updated',
      source: 'secret',
    });
    expect(config.jwtSecret).toBe(fromEnv);
  });

  it('refuses to import a value the schema would refuse', async () => {
    process.env.JWT_SECRET = leaks.value('long-enough-jwt');
    process.env.LEGACY_DB_URL = leaks.value('url');
    const { loader, secrets } = await start();
    process.env.JWT_SECRET = leaks.value('s', 2);

    // A secret name or its old variable's name: both say which field.
    const report = await loader.importFromEnv(['JWT_SECRET', 'LEGACY_DB_URL']);
    expect(report.failed).toEqual([{ name: 'JWT_SECRET', code: 'CONFIG_INVALID' }]);
    expect(report.created).toEqual(['DATABASE_URL']);
    expect((await secrets.listSecrets()).map((secret) => secret.name)).toEqual(['DATABASE_URL']);
  });

  it('is a plain function too, for scripts: any variable, any target name', async () => {
    process.env.JWT_SECRET = leaks.value('jwt');
    process.env.LEGACY_DB_URL = leaks.value('url');
    const { secrets } = await start();
    const token = leaks.value('token');
    const env: Record<string, string> = { OLD_TOKEN: token, EMPTY: '' };
    const options = { env: (name: string) => env[name], actor: 'migration-script' };
    const entries = [{ secret: 'PAYMENTS_TOKEN', env: 'OLD_TOKEN' }, 'EMPTY', 'bad name'];

    const first = await importSecretsFromEnv(secrets, entries, options);
    const second = await importSecretsFromEnv(secrets, entries, options);

    expect(first).toMatchObject({ created: ['PAYMENTS_TOKEN'], missing: ['EMPTY', 'bad name'] });
    expect(second).toMatchObject({ created: [], unchanged: ['PAYMENTS_TOKEN'] });
    expect(first.failed).toEqual([]);
    expect(await secrets.getSecret('PAYMENTS_TOKEN')).toBe(token);
    expect(await secrets.listSecretVersions('PAYMENTS_TOKEN')).toHaveLength(1);

    env['bad name'] = 'x';
    const refused = await importSecretsFromEnv(secrets, ['bad name'], options);
    expect(refused.failed).toEqual([{ name: 'bad name', code: 'SECRET_INVALID_INPUT' }]);
  });
});
