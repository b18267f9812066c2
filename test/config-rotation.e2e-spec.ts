import { Injectable, Module } from '@nestjs/common';
import { IsString, MinLength } from 'class-validator';
import { firstValueFrom } from 'rxjs';
import { FromEnv, FromSecret, type ConfigFieldChange } from '@nest-kms/config';
import { CapturedLogger } from './support/captured-logger.js';
import {
  LeakWatch,
  isolateEnv,
  loggedEvents,
  seedSecrets,
  startConfigApp,
  type ConfigApp,
} from './support/config-fixture.js';
import { ENGINES, createTestDatabase, type TestDatabase } from './support/databases.js';
import { newMasterKey } from './support/kms-fixture.js';
import { eventually } from './support/eventually.js';

const leaks = new LeakWatch();

class AppConfig {
  @FromSecret('JWT_SECRET') @IsString() @MinLength(32) jwtSecret: string;
  @FromSecret('API_KEY', { fallbackToEnv: true }) @IsString() apiKey: string;
  @FromEnv('SERVICE') service = 'wallet';
}

/** Reads the injected object at call time, as request handlers do. */
@Injectable()
class TokenSigner {
  constructor(private readonly config: AppConfig) {}
  key(): string {
    return this.config.jwtSecret;
  }
}

@Module({ providers: [TokenSigner], exports: [TokenSigner] })
class AuthModule {}

describe.each(ENGINES)('rotation of bound secrets on %s', (engine) => {
  let db: TestDatabase;
  let masterKey: string;
  let app: ConfigApp<AppConfig>;
  let closed: boolean;
  let changes: ConfigFieldChange[];
  let jwt: string;

  isolateEnv();

  const start = async (watchSecrets = true) => {
    app = await startConfigApp(db, {
      masterKey,
      schema: AppConfig,
      config: { watchSecrets },
      imports: [AuthModule],
    });
    closed = false;
    changes = [];
    app.loader.changes.subscribe((change) => changes.push(change));
  };

  beforeEach(async () => {
    db = await createTestDatabase(engine);
    masterKey = newMasterKey();
    jwt = leaks.value('jwt-v1');
    await seedSecrets(db, masterKey, { JWT_SECRET: jwt, API_KEY: leaks.value('api') });
  });

  /** Closing waits for re-reads under way: afterwards nothing can still change. */
  const close = async () => {
    closed = true;
    await app.close();
  };

  afterEach(async () => {
    if (!closed) await app?.close();
    await db.drop();
  });

  afterAll(() => leaks.assertNoLeaks());

  it('shows a rotated secret through the injected object, and says which field changed', async () => {
    await start();
    const next = leaks.value('jwt-v2');
    const changed = firstValueFrom(app.loader.changes);

    await app.secrets.rotateSecret('JWT_SECRET', next);

    expect(await changed).toMatchObject({
      field: 'jwtSecret',
      secret: 'JWT_SECRET',
      reason: 'rotated',
      source: 'secret',
      previousSource: 'secret',
      key: 'JWT_SECRET',
    });
    expect(app.config.jwtSecret).toBe(next);
    expect(app.app.get(TokenSigner).key()).toBe(next);
    expect(app.loader.get('JWT_SECRET')).toBe(next);
    expect(loggedEvents('config_field_changed').at(-1)).toMatchObject({
      field: 'jwtSecret',
      source: 'secret',
      reason: 'rotated',
    });
  });

  it('keeps the old value and logs the refusal when the new value is invalid', async () => {
    await start();
    const rejectedBefore = loggedEvents('config_field_rejected').length;

    await app.secrets.rotateSecret('JWT_SECRET', leaks.value('short', 4));

    await eventually(() =>
      expect(loggedEvents('config_field_rejected')).toHaveLength(rejectedBefore + 1),
    );
    const [rejected] = loggedEvents('config_field_rejected').slice(-1);
    expect(rejected).toMatchObject({ field: 'jwtSecret', secret: 'JWT_SECRET', reason: 'rotated' });
    expect(JSON.stringify(rejected)).toContain('minLength');
    expect(app.config.jwtSecret).toBe(jwt);
    expect(changes).toEqual([]);

    const valid = leaks.value('jwt-v3');
    await app.secrets.rotateSecret('JWT_SECRET', valid);
    await eventually(() => expect(app.config.jwtSecret).toBe(valid));
    expect(changes.map((change) => change.field)).toEqual(['jwtSecret']);
  });

  it('keeps the last good value when the secret is deleted', async () => {
    await start();
    const rejectedBefore = loggedEvents('config_field_rejected').length;

    await app.secrets.deleteSecret('JWT_SECRET');

    await eventually(() =>
      expect(loggedEvents('config_field_rejected')).toHaveLength(rejectedBefore + 1),
    );
    expect(loggedEvents('config_field_rejected').at(-1)).toMatchObject({
      field: 'jwtSecret',
      reason: 'deleted',
    });
    expect(app.config.jwtSecret).toBe(jwt);
  });

  it('announces nothing when a rotation keeps the same value', async () => {
    await start();
    await app.secrets.rotateSecret('JWT_SECRET', jwt);
    const next = leaks.value('jwt-v4');
    await app.secrets.rotateSecret('JWT_SECRET', next);

    await eventually(() => expect(app.config.jwtSecret).toBe(next));
    expect(changes).toHaveLength(1);
  });

  it('falls back to the environment when a fallback secret is destroyed, and back again', async () => {
    const fromEnv = leaks.value('api-env');
    process.env.API_KEY = fromEnv;
    await start();
    expect(app.loader.getStatus().fields.apiKey.source).toBe('secret');

    await app.secrets.deleteSecret('API_KEY');
    await app.secrets.destroySecret('API_KEY');
    await eventually(() => expect(app.config.apiKey).toBe(fromEnv));
    expect(changes.at(-1)).toMatchObject({
      field: 'apiKey',
      reason: 'destroyed',
      previousSource: 'secret',
      source: 'env',
    });

    const stored = leaks.value('api-stored');
    await app.secrets.setSecret('API_KEY', stored);
    await eventually(() => expect(app.config.apiKey).toBe(stored));
    expect(changes.at(-1)).toMatchObject({ field: 'apiKey', reason: 'created', source: 'secret' });
  });

  it('applies a change committed just before the application closes', async () => {
    await start();
    const next = leaks.value('jwt-v5');
    await app.secrets.rotateSecret('JWT_SECRET', next);
    await close();
    expect(app.config.jwtSecret).toBe(next);
    expect(changes).toHaveLength(1);
  });

  it('follows nothing with watchSecrets: false', async () => {
    await start(false);
    await app.secrets.rotateSecret('JWT_SECRET', leaks.value('jwt-v6'));
    await close();
    expect(app.config.jwtSecret).toBe(jwt);
    expect(changes).toEqual([]);
    expect(CapturedLogger.allText()).toContain('"secret_rotated"');
  });
});
