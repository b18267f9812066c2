import { Test, type TestingModule } from '@nestjs/testing';
import { KmsModule } from '@nest-kms/kms';
import { KmsStorage } from '@nest-kms/kms/extension';
import { kmsTestingOptions } from '@nest-kms/kms/testing';
import { SecretsModule } from './secrets.module.js';
import { SecretsService } from './secrets.service.js';
import { SecretsStore } from './secrets.store.js';

/** A store that counts primary-key reads: the real one, observed. */
class CountingSecretsStore extends SecretsStore {
  currentReads = 0;
  override readCurrent(name: string) {
    this.currentReads++;
    return super.readCurrent(name);
  }
}

describe('SecretsModule providers', () => {
  let moduleRef: TestingModule | undefined;

  afterEach(async () => {
    await moduleRef?.close();
    moduleRef = undefined;
  });

  it('the secrets store is a provider: replaced, the service reads through the replacement', async () => {
    moduleRef = await Test.createTestingModule({
      imports: [KmsModule.forRoot(kmsTestingOptions()), SecretsModule.forRoot()],
    })
      .overrideProvider(SecretsStore)
      .useFactory({
        factory: (storage: KmsStorage) => new CountingSecretsStore(storage),
        inject: [KmsStorage],
      })
      .compile();
    await moduleRef.init();
    const store = moduleRef.get(SecretsStore);
    expect(store).toBeInstanceOf(CountingSecretsStore);

    const secrets = moduleRef.get(SecretsService);
    await secrets.setSecret('API_KEY', 'counted');
    expect(await secrets.getSecret('API_KEY')).toBe('counted');
    expect(await secrets.getSecret('API_KEY')).toBe('counted');
    // The first read missed the cache and read the row; the second was a hit.
    expect((store as CountingSecretsStore).currentReads).toBe(1);
  });
});
