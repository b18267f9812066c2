import { Injectable, Module, Optional } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { KmsModule, KmsService } from '@nest-kms/kms';
import { CapturedLogger } from './support/captured-logger.js';
import { ENGINES, createTestDatabase, type TestDatabase } from './support/databases.js';
import { newMasterKey } from './support/kms-fixture.js';

/** Wants KmsService; optional, so that a module which cannot see it compiles and says so. */
@Injectable()
class KmsUser {
  constructor(@Optional() readonly kms?: KmsService) {}
}

@Injectable()
class SiblingKmsUser extends KmsUser {}

/** A module of the application that does not import KmsModule. */
@Module({ providers: [SiblingKmsUser] })
class SiblingModule {}

describe.each(ENGINES)('KmsModule visibility on %s', (engine) => {
  let db: TestDatabase;
  let moduleRef: TestingModule | undefined;

  beforeEach(async () => {
    db = await createTestDatabase(engine);
  });

  afterEach(async () => {
    await moduleRef?.close();
    moduleRef = undefined;
    await db.drop();
  });

  async function start(isGlobal?: boolean): Promise<TestingModule> {
    const options = { masterKey: newMasterKey(), connection: db.connection };
    @Module({
      imports: [KmsModule.forRoot(isGlobal === undefined ? options : { ...options, isGlobal })],
      providers: [KmsUser],
    })
    class FeatureModule {}
    moduleRef = await Test.createTestingModule({ imports: [FeatureModule, SiblingModule] })
      .setLogger(new CapturedLogger())
      .compile();
    await moduleRef.init();
    return moduleRef;
  }

  it('isGlobal: false serves the importing module only, started like a global one', async () => {
    const app = await start(false);
    const kms = app.get(KmsUser).kms!;
    expect(kms).toBeInstanceOf(KmsService);
    expect(
      await kms.decryptData(await kms.encryptData('non-global', { aad: 'scope' }), {
        aad: 'scope',
      }),
    ).toBe('non-global');
    expect(kms.getStatus()).toMatchObject({ initialized: true });
    expect(app.get(SiblingKmsUser).kms).toBeUndefined();
  });

  it('by default is global: a module that does not import it gets the same KmsService', async () => {
    const app = await start();
    const kms = app.get(KmsUser).kms;
    expect(kms).toBeInstanceOf(KmsService);
    expect(app.get(SiblingKmsUser).kms).toBe(kms);
  });
});
