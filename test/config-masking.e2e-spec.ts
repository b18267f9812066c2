import { Injectable, Logger, Module, type OnModuleInit } from '@nestjs/common';
import { IsInt, IsString } from 'class-validator';
import { inspect } from 'node:util';
import { FromEnv, FromSecret, MASK, Sensitive } from '@nest-kms/config';
import { CapturedLogger } from './support/captured-logger.js';
import {
  LeakWatch,
  seedSecrets,
  startConfigApp,
  type ConfigApp,
} from './support/config-fixture.js';
import { createTestDatabase, type TestDatabase } from './support/databases.js';
import { newMasterKey } from './support/kms-fixture.js';

const leaks = new LeakWatch();

class AppConfig {
  @FromEnv('PORT') @IsInt() port = 3000;
  @FromSecret('JWT_SECRET') @IsString() jwtSecret: string;
  @FromEnv('DB_PASSWORD') @Sensitive() @IsString() dbPassword: string;
  @FromEnv('SERVICE_NAME') @IsString() serviceName = 'wallet';
}

/** What careless code does: log the whole configuration object, every way there is. */
@Injectable()
class CarelessLogger implements OnModuleInit {
  private readonly logger = new Logger('Careless');
  constructor(private readonly config: AppConfig) {}
  onModuleInit(): void {
    this.logger.log(this.config);
    this.logger.log({ event: 'booted', config: this.config });
    this.logger.log(`config is ${this.config}`);
    this.logger.warn(inspect(this.config));
  }
}

@Module({ providers: [CarelessLogger] })
class CarelessModule {}

describe('masking of sensitive configuration', () => {
  let db: TestDatabase;
  let app: ConfigApp<AppConfig>;
  const jwt = leaks.value('jwt');
  const password = leaks.value('dbpw');

  const saved = { DB_PASSWORD: process.env.DB_PASSWORD, PORT: process.env.PORT };

  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
    const masterKey = newMasterKey();
    await seedSecrets(db, masterKey, { JWT_SECRET: jwt });
    process.env.DB_PASSWORD = password;
    process.env.PORT = '8443';
    app = await startConfigApp(db, { masterKey, schema: AppConfig, imports: [CarelessModule] });
  });

  afterAll(async () => {
    await app?.close();
    await db?.drop();
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    leaks.assertNoLeaks();
  });

  const safe = (text: string): string => {
    leaks.text(text);
    expect(text).not.toContain(jwt);
    expect(text).not.toContain(password);
    return text;
  };

  it('returns the real values on property access', () => {
    expect(app.config.jwtSecret).toBe(jwt);
    expect(app.config.dbPassword).toBe(password);
    expect(app.loader.get('JWT_SECRET')).toBe(jwt);
  });

  it('masks secret and @Sensitive() fields in JSON, inspect and string forms', () => {
    const json = JSON.parse(safe(JSON.stringify(app.config))) as Record<string, unknown>;
    expect(json).toEqual({ port: 8443, jwtSecret: MASK, dbPassword: MASK, serviceName: 'wallet' });
    expect(safe(inspect(app.config))).toContain(`jwtSecret: '${MASK}'`);
    expect(safe(inspect({ wrapped: [app.config] }, { depth: 5 }))).toContain(MASK);
    expect(safe(String(app.config))).toContain(`"dbPassword":"${MASK}"`);
    expect(safe(`${app.config}`)).toContain('"port":8443');
    expect(safe(JSON.stringify({ ...app.config }))).toBe('{"port":8443,"serviceName":"wallet"}');
  });

  it('masks them in getStatus() and shows the rest', () => {
    const status = app.loader.getStatus();
    safe(JSON.stringify(status));
    safe(inspect(status, { depth: 5 }));
    expect(status.fields.jwtSecret).toMatchObject({ value: MASK, sensitive: true });
    expect(status.fields.dbPassword).toMatchObject({ value: MASK, sensitive: true, source: 'env' });
    expect(status.fields.port).toMatchObject({ value: 8443, sensitive: false });
  });

  it('keeps the values out of everything logged, including careless logging of the object', () => {
    const text = safe(CapturedLogger.allText());
    expect(text).toContain('"context":"Careless"');
    expect(text).toContain(`"jwtSecret":"${MASK}"`);
  });
});
