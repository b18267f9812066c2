import { Injectable, Module, type DynamicModule } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { IsString } from 'class-validator';
import { KmsModule, KmsService, type KmsConnectionOptions } from '@nest-kms/kms';
import { SecretsModule, SecretsService, type SecretsModuleOptions } from '@nest-kms/secrets';
import { FromSecret, KmsConfigModule, KmsConfigService } from '@nest-kms/config';
import { CapturedLogger } from './support/captured-logger.js';
import { initOrClose, seedSecrets } from './support/config-fixture.js';
import { ENGINES, createTestDatabase, type TestDatabase } from './support/databases.js';
import { newMasterKey } from './support/kms-fixture.js';

class WiredConfig {
  @FromSecret('API_KEY') @IsString() apiKey!: string;
}

/** A feature module that says what it uses: the secrets module it was given. */
function featureUsing(secretsModule: DynamicModule) {
  @Injectable()
  class ApiClient {
    constructor(readonly secrets: SecretsService) {}
  }
  @Module({ imports: [secretsModule], providers: [ApiClient], exports: [ApiClient] })
  class ApiModule {}
  return { ApiModule, ApiClient };
}

/** The README's wiring with every module `isGlobal: false`. */
function notGlobal(connection: KmsConnectionOptions, masterKey: string) {
  const kms = KmsModule.forRoot({ masterKey, connection, isGlobal: false });
  const secrets = SecretsModule.forRoot({ isGlobal: false, imports: [kms] });
  const config = KmsConfigModule.forRoot({
    schema: WiredConfig,
    isGlobal: false,
    imports: [secrets],
  });
  return { kms, secrets, config };
}

describe.each(ENGINES)(
  'KmsModule, SecretsModule and KmsConfigModule not global on %s',
  (engine) => {
    let db: TestDatabase;
    let masterKey: string;

    beforeEach(async () => {
      db = await createTestDatabase(engine);
      masterKey = newMasterKey();
    });

    afterEach(async () => {
      await db.drop();
    });

    it('start with the documented imports, and serve secrets and configuration', async () => {
      await seedSecrets(db, masterKey, { API_KEY: 'seeded-api-key' });
      const { kms, secrets, config } = notGlobal(db.connection, masterKey);
      const { ApiModule, ApiClient } = featureUsing(secrets);
      const moduleRef = await Test.createTestingModule({
        imports: [kms, secrets, config, ApiModule],
      })
        .setLogger(new CapturedLogger())
        .compile();
      const app = await initOrClose(moduleRef);
      try {
        const client = app.get(ApiClient);
        expect(client.secrets).toBe(app.get(SecretsService));
        expect(await client.secrets.getSecret('API_KEY')).toBe('seeded-api-key');
        expect(app.get(WiredConfig).apiKey).toBe('seeded-api-key');
        expect(app.get<KmsConfigService<WiredConfig>>(KmsConfigService).get('apiKey')).toBe(
          'seeded-api-key',
        );
        expect(app.get(KmsService).getStatus().initialized).toBe(true);
      } finally {
        await app.close();
      }
    });

    it('provide SecretsService only where its module is imported', async () => {
      const { kms, secrets: secretsModule } = notGlobal(db.connection, masterKey);
      @Injectable()
      class Outsider {
        constructor(readonly secrets: SecretsService) {}
      }
      @Module({ providers: [Outsider] })
      class OutsideModule {}
      const compiling = Test.createTestingModule({ imports: [kms, secretsModule, OutsideModule] })
        .setLogger(new CapturedLogger())
        .compile();
      await expect(compiling).rejects.toThrow(/SecretsService/);
    });

    it('refuse to compile, naming the KMS provider, when SecretsModule is not told where a non-global KmsModule is', async () => {
      const kms = KmsModule.forRoot({ masterKey, connection: db.connection, isGlobal: false });
      const compiling = Test.createTestingModule({ imports: [kms, SecretsModule.forRoot()] })
        .setLogger(new CapturedLogger())
        .compile();
      await expect(compiling).rejects.toThrow(
        /argument Kms\w+ at index .* in the SecretsCoreModule/,
      );
    });

    it('take imports in forRootAsync as well, and the factory may inject from them', async () => {
      const kms = KmsModule.forRoot({ masterKey, connection: db.connection, isGlobal: false });
      const secrets = SecretsModule.forRootAsync({
        isGlobal: false,
        imports: [kms],
        inject: [KmsService],
        useFactory: (kmsService: KmsService): SecretsModuleOptions => {
          expect(kmsService).toBeInstanceOf(KmsService);
          return { cacheTtlMs: 0 };
        },
      });
      const moduleRef = await Test.createTestingModule({ imports: [kms, secrets] })
        .setLogger(new CapturedLogger())
        .compile();
      const app = await initOrClose(moduleRef);
      try {
        const service = app.get(SecretsService);
        await service.setSecret('API_KEY', 'async-wired');
        expect(await service.getSecret('API_KEY')).toBe('async-wired');
        // cacheTtlMs 0 from the factory: nothing is kept.
        expect((await service.getStatus()).cacheSize).toBe(0);
      } finally {
        await app.close();
      }
    });

    it("let an application's test replace SecretsService with overrideProvider, in every module that imports it", async () => {
      const { kms, secrets } = notGlobal(db.connection, masterKey);
      const { ApiModule, ApiClient } = featureUsing(secrets);
      const fake = { getSecret: async (name: string) => `fake value of ${name}` };
      const moduleRef = await Test.createTestingModule({ imports: [kms, secrets, ApiModule] })
        .overrideProvider(SecretsService)
        .useValue(fake)
        .setLogger(new CapturedLogger())
        .compile();
      const app = await initOrClose(moduleRef);
      try {
        const client = app.get(ApiClient);
        expect(client.secrets).toBe(fake);
        expect(await client.secrets.getSecret('API_KEY')).toBe('fake value of API_KEY');
      } finally {
        await app.close();
      }
    });
  },
);
