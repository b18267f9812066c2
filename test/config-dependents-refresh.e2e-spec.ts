import { IsString, MinLength } from 'class-validator';
import { KmsConfigurationError } from '@nest-kms/kms';
import {
  ConfigCredentialsRejectedError,
  FromEnv,
  FromSecret,
  type ConfigFieldChange,
} from '@nest-kms/config';
import { caught } from './support/caught.js';
import {
  LeakWatch,
  isolateEnv,
  seedSecrets,
  startConfigApp,
  type ConfigApp,
} from './support/config-fixture.js';
import { ENGINES, createTestDatabase, type TestDatabase } from './support/databases.js';
import { newMasterKey } from './support/kms-fixture.js';
import { startSecretsApp } from './support/secrets-fixture.js';

const leaks = new LeakWatch();

class AppConfig {
  @FromSecret('DB_PASSWORD') @IsString() @MinLength(16) dbPassword: string;
  @FromEnv('DB_HOST') host = 'db.internal';
}

/** What a password opens: a server that accepts one password and refuses the others. */
class Server {
  accepted = '';
  attempts: string[] = [];
  async login(password: string): Promise<string> {
    this.attempts.push(password);
    if (password !== this.accepted) throw Object.assign(new Error('auth failed'), { code: 'AUTH' });
    return 'session';
  }
}

const isAuthFailure = (error: unknown) => (error as { code?: string }).code === 'AUTH';

describe.each(ENGINES)('credentials refreshed after an authentication failure on %s', (engine) => {
  let db: TestDatabase;
  let masterKey: string;
  let app: ConfigApp<AppConfig>;
  let server: Server;
  let changes: ConfigFieldChange[];
  let storeReads: number;
  let v1: string;

  isolateEnv();

  /**
   * The password changed by another process: the server and the store both have it, and this
   * application was told nothing (watchSecrets off here; on SQLite no other process is heard).
   */
  const rotateElsewhere = async (value: string, { onServer = false } = {}) => {
    const other = await startSecretsApp(db, { masterKey });
    try {
      await other.secrets.rotateSecret('DB_PASSWORD', value, { actor: 'provider' });
    } finally {
      await other.close();
    }
    if (onServer) server.accepted = value;
  };

  beforeEach(async () => {
    db = await createTestDatabase(engine);
    masterKey = newMasterKey();
    v1 = leaks.value('pw-v1');
    await seedSecrets(db, masterKey, { DB_PASSWORD: v1 });
    app = await startConfigApp(db, {
      masterKey,
      schema: AppConfig,
      config: { watchSecrets: false },
    });
    server = new Server();
    server.accepted = v1;
    changes = [];
    app.loader.changes.subscribe((change) => changes.push(change));
    storeReads = 0;
    const listVersions = app.secrets.listSecretVersions.bind(app.secrets);
    // Counts the fresh reads (a versioned read goes to the database, never the cache).
    app.secrets.listSecretVersions = (name) => {
      storeReads++;
      return listVersions(name);
    };
  });

  afterEach(async () => {
    await app?.close();
    await db.drop();
  });

  afterAll(() => leaks.assertNoLeaks());

  const login = () =>
    app.loader.withFreshValueOnAuthFailure(
      'dbPassword',
      (password) => server.login(password),
      isAuthFailure,
    );

  it('uses the cached value while it is accepted, reading nothing', async () => {
    expect(await login()).toBe('session');
    expect(server.attempts).toEqual([v1]);
    expect(storeReads).toBe(0);
  });

  it('reads the store once and retries with the newer value; concurrent refusals share the read', async () => {
    const v2 = leaks.value('pw-v2');
    await rotateElsewhere(v2, { onServer: true });
    expect(app.config.dbPassword).toBe(v1);

    const results = await Promise.all(Array.from({ length: 5 }, () => login()));
    expect(results).toEqual(Array(5).fill('session'));
    expect(storeReads).toBe(1);
    expect(app.config.dbPassword).toBe(v2);
    expect(changes).toEqual([
      expect.objectContaining({ field: 'dbPassword', secret: 'DB_PASSWORD', reason: 'refreshed' }),
    ]);
    // Each call: at most the refused value, then the newer one.
    expect(server.attempts.filter((attempt) => attempt === v1).length).toBeLessThanOrEqual(5);
    expect(server.attempts.filter((attempt) => attempt === v2)).toHaveLength(5);

    // A caller refused with v1 after the refresh retries with v2 without reading again.
    expect(
      await app.loader.withFreshValueOnAuthFailure(
        'DB_PASSWORD',
        async (password: string) => {
          if (password === v1) throw Object.assign(new Error('late'), { code: 'AUTH' });
          return server.login(password);
        },
        isAuthFailure,
      ),
    ).toBe('session');
    expect(storeReads).toBe(1);
  });

  it('gives up with a typed error when the store has nothing newer', async () => {
    server.accepted = leaks.value('pw-elsewhere');
    const error = leaks.error(await caught(login));
    expect(error).toBeInstanceOf(ConfigCredentialsRejectedError);
    expect(error).toMatchObject({
      code: 'CONFIG_CREDENTIALS_REJECTED',
      field: 'dbPassword',
      secret: 'DB_PASSWORD',
      reason: 'unchanged',
    });
    expect((error as Error).cause).toMatchObject({ code: 'AUTH' });
    expect(server.attempts).toEqual([v1]);
    expect(storeReads).toBe(1);
    expect(changes).toEqual([]);
  });

  it('gives up after one retry when the newer value is refused too, never looping', async () => {
    const v2 = leaks.value('pw-v2');
    await rotateElsewhere(v2);
    server.accepted = leaks.value('pw-elsewhere');
    const error = leaks.error(await caught(login));
    expect(error).toMatchObject({ code: 'CONFIG_CREDENTIALS_REJECTED', reason: 'rejected-again' });
    expect(server.attempts).toEqual([v1, v2]);
    expect(storeReads).toBe(1);
    // The newer value is the configuration's now: the store is right, the server is not.
    expect(app.config.dbPassword).toBe(v2);
  });

  it('keeps the old value when the newer one fails the schema', async () => {
    await rotateElsewhere('short');
    server.accepted = leaks.value('pw-elsewhere');
    const error = leaks.error(await caught(login));
    expect(error).toMatchObject({ code: 'CONFIG_CREDENTIALS_REJECTED', reason: 'refused' });
    expect(app.config.dbPassword).toBe(v1);
    expect(server.attempts).toEqual([v1]);
  });

  it('passes other failures through untouched, reading nothing', async () => {
    const outage = Object.assign(new Error('connection refused'), { code: 'ECONNREFUSED' });
    const error = await caught(() =>
      app.loader.withFreshValueOnAuthFailure(
        'dbPassword',
        () => Promise.reject(outage),
        isAuthFailure,
      ),
    );
    expect(error).toBe(outage);
    expect(storeReads).toBe(0);
  });

  it('refuses a field that is not bound to a secret', async () => {
    const error = await caught(() =>
      app.loader.withFreshValueOnAuthFailure('host', () => 'x', isAuthFailure),
    );
    expect(error).toBeInstanceOf(KmsConfigurationError);
    expect(error.message).toContain('AppConfig.host is not bound to a secret');
  });
});
