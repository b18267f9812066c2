import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { Test } from '@nestjs/testing';
import { SecretsService } from '@nest-kms/secrets';
import { KmsConfigService, MASK } from '@nest-kms/config';
import { CapturedLogger } from './support/captured-logger.js';
import { LeakWatch, isolateEnv, seedSecrets } from './support/config-fixture.js';
import { ENGINES, createTestDatabase } from './support/databases.js';
import { newMasterKey } from './support/kms-fixture.js';
import { eventually } from './support/eventually.js';

const example = readFileSync(
  new URL('./support/config-readme-example.ts', import.meta.url),
  'utf8',
);
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const leaks = new LeakWatch();

it('the README shows the tested configuration example verbatim', () => {
  expect(readme).toContain(example.trim());
});

// The example's KmsModule connects to Postgres, as production does.
describe.each(ENGINES.filter((engine) => engine === 'postgres'))(
  'the README configuration example on %s',
  (engine) => {
    isolateEnv();
    afterAll(() => leaks.assertNoLeaks());

    it('works as written: sources, masking, rotation', async () => {
      const db = await createTestDatabase(engine);
      const masterKey = newMasterKey();
      const jwt = leaks.value('jwt');
      const url = `postgres://app:${leaks.value('pw', 8)}@db.internal:5432/app`;
      const smtp = leaks.value('smtp');
      try {
        await seedSecrets(db, masterKey, { JWT_SECRET: jwt });
        Object.assign(process.env, {
          KMS_MASTER_KEY: masterKey,
          KMS_DATABASE_URL: (db.connection as { url: string }).url,
          DATABASE_URL: url,
          SMTP_PASSWORD: smtp,
          PORT: '8080',
        });
        const { AppModule, AppConfig, TokenSigner } =
          await import('./support/config-readme-example.js');
        const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
          .setLogger(new CapturedLogger())
          .compile();
        const app = await moduleRef.init();
        try {
          const config = app.get(AppConfig);
          expect([config.port, config.jwtSecret, config.databaseUrl]).toEqual([8080, jwt, url]);
          expect(JSON.stringify(config)).toBe(
            JSON.stringify({ port: 8080, jwtSecret: MASK, databaseUrl: MASK, smtpPassword: MASK }),
          );
          leaks.text(inspect(config));
          const { fields } = app.get(KmsConfigService).getStatus();
          expect(fields.databaseUrl.source).toBe('env');

          const rotated = leaks.value('jwt-v2');
          await app.get(SecretsService).rotateSecret('JWT_SECRET', rotated);
          await eventually(() => expect(app.get(TokenSigner).signingKey()).toBe(rotated));
        } finally {
          await app.close();
        }
      } finally {
        await db.drop();
      }
    });
  },
);
