import { Test, type TestingModule } from '@nestjs/testing';
import { KmsKeyring } from './core/kms-keyring.js';
import type { KeyringStore } from './keyring/keyring-store.interface.js';
import { KMS_KEYRING_STORE } from './kms.constants.js';
import { KmsModule } from './kms.module.js';
import { KmsService } from './kms.service.js';
import { KmsNotifications } from './notifications/kms-notifications.js';
import { KmsStorage } from './storage/kms-storage.js';
import { TypeOrmKeyringStore } from './storage/typeorm-keyring.store.js';
import { kmsTestingOptions } from './testing/kms-testing-options.js';

/** The real store on the module's SQLite database, recording which of its methods ran. */
function recordingStore(storage: KmsStorage, notifications: KmsNotifications) {
  const store = new TypeOrmKeyringStore(storage, notifications);
  const calls: string[] = [];
  const recording = new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(String(property));
        return (value as (...args: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: recording as KeyringStore, calls };
}

describe('KmsModule providers', () => {
  let moduleRef: TestingModule | undefined;

  afterEach(async () => {
    await moduleRef?.close();
    moduleRef = undefined;
  });

  it('the keyring store is a provider: replaced, the keyring uses the replacement', async () => {
    let calls: string[] = [];
    moduleRef = await Test.createTestingModule({
      imports: [KmsModule.forRoot(kmsTestingOptions())],
    })
      .overrideProvider(KMS_KEYRING_STORE)
      .useFactory({
        factory: (storage: KmsStorage, notifications: KmsNotifications) => {
          const recording = recordingStore(storage, notifications);
          calls = recording.calls;
          return recording.store;
        },
        inject: [KmsStorage, KmsNotifications],
      })
      .compile();
    await moduleRef.init();
    expect(calls).toContain('createKeyring');

    // Keys in memory: sealing and opening never reach the store.
    const kms = moduleRef.get(KmsService);
    calls.length = 0;
    for (let i = 0; i < 100; i++) {
      const envelope = await kms.encryptToString(`value ${i}`, { aad: { i: String(i) } });
      expect(await kms.decryptData(envelope, { aad: { i: String(i) } })).toBe(`value ${i}`);
    }
    expect(calls).toEqual([]);

    const rotation = await kms.rotateDataKey();
    expect(calls).toEqual(['rotate']);
    expect(kms.getStatus().activeKeyId).toBe(rotation.keyId);
  });

  it('the keyring holder is a provider: KmsService reads the one the module holds', async () => {
    moduleRef = await Test.createTestingModule({
      imports: [KmsModule.forRoot(kmsTestingOptions())],
    }).compile();
    await moduleRef.init();
    const holder = moduleRef.get(KmsKeyring);
    const kms = moduleRef.get(KmsService);
    expect(kms.getStatus().activeKeyId).toBe(holder.ready().active.id);
    await moduleRef.close();
    moduleRef = undefined;
    expect(holder.current).toBeUndefined();
    expect(kms.getStatus()).toMatchObject({ initialized: false, activeKeyId: null });
  });
});
