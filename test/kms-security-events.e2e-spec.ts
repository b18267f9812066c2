import { Injectable, Module } from '@nestjs/common';
import {
  ActorBlockedError,
  DecryptionFailedError,
  InvalidInputError,
  KmsModule,
  KmsService,
  MasterKeyMismatchError,
} from '@nest-kms/kms';
import { ActorBlocklist, KmsSecurityEvents, type KmsSecurityEvent } from '@nest-kms/kms/extension';
import { caught } from './support/caught.js';
import { ENGINES, createTestDatabase, type TestDatabase } from './support/databases.js';
import { newMasterKey, startTestApp } from './support/kms-fixture.js';
import { tampered } from './support/tampered-envelope.js';

/** Listens from construction, before the keyring opens, as the secrets store's audit trail does. */
@Injectable()
class SecurityEventRecorder {
  readonly events: KmsSecurityEvent[] = [];
  constructor(security: KmsSecurityEvents) {
    security.listen((event) => {
      this.events.push(event);
    });
  }
}

function startWithRecorder(db: TestDatabase, masterKey: string) {
  @Module({
    imports: [KmsModule.forRoot({ masterKey, connection: db.connection })],
    providers: [SecurityEventRecorder],
  })
  class RecordingModule {}
  return startTestApp({ imports: [RecordingModule] });
}

describe.each(ENGINES)('the KMS security events and the actor blocklist on %s', (engine) => {
  let db: TestDatabase;
  let close: () => Promise<void>;
  let kms: KmsService;
  let recorder: SecurityEventRecorder;
  let blocklist: ActorBlocklist;
  let logs: () => string;
  const masterKey = newMasterKey();

  beforeEach(async () => {
    db = await createTestDatabase(engine);
    const { app, logger } = await startWithRecorder(db, masterKey);
    close = () => app.close();
    kms = app.get(KmsService);
    recorder = app.get(SecurityEventRecorder);
    blocklist = app.get(ActorBlocklist);
    logs = () => JSON.stringify(logger.lines);
  });
  afterEach(async () => {
    await close();
    await db.drop();
  });

  it('reports a failed decryption with its key and the actor who asked, never the value', async () => {
    const envelope = await kms.encryptData('the plaintext to keep out of logs');
    const error = await caught(() =>
      kms.decryptData(tampered(envelope), { actor: 'billing-service' }),
    );
    expect(error).toBeInstanceOf(DecryptionFailedError);
    expect(recorder.events).toEqual([
      {
        kind: 'decryption-failed',
        code: 'KMS_DECRYPTION_FAILED',
        keyId: envelope.keyId,
        actor: 'billing-service',
      },
    ]);
    expect(logs()).toContain('billing-service');
    expect(logs()).not.toContain('the plaintext to keep out of logs');
  });

  it('refuses an actor that is not a short non-empty string, before anything is opened', async () => {
    const envelope = await kms.encryptData('x');
    for (const actor of ['', 'a'.repeat(129), 42]) {
      const error = await caught(() =>
        kms.decryptData(tampered(envelope), { actor: actor as string }),
      );
      expect(error).toBeInstanceOf(InvalidInputError);
    }
    expect(recorder.events).toEqual([]);
    await expect(kms.decryptData(envelope, { actor: 'a'.repeat(128) })).resolves.toBe('x');
  });

  it('refuses a blocked actor until its block ends, and nobody else', async () => {
    const envelope = await kms.encryptData('x');
    const until = Date.now() + 60_000;
    blocklist.block('mallory', until);

    const error = await caught(() => kms.decryptData(envelope, { actor: 'mallory' }));
    expect(error).toBeInstanceOf(ActorBlockedError);
    expect(error).toMatchObject({ code: 'KMS_ACTOR_BLOCKED', actor: 'mallory', until });
    await expect(kms.decryptData(envelope, { actor: 'alice' })).resolves.toBe('x');
    await expect(kms.decryptData(envelope)).resolves.toBe('x');

    blocklist.replace(new Map([['mallory', Date.now() - 1]]));
    await expect(kms.decryptData(envelope, { actor: 'mallory' })).resolves.toBe('x');
  });

  it('reports an attempt to destroy a key in use, and a destroyed key', async () => {
    const { previousKeyId, keyId } = await kms.rotateDataKey();
    await caught(() => kms.destroyDataKey(keyId));
    await kms.destroyDataKey(previousKeyId!);
    expect(recorder.events).toEqual([
      { kind: 'data-key-destroy-refused', keyId, code: 'KMS_DATA_KEY_IN_USE' },
      { kind: 'data-key-destroyed', keyId: previousKeyId },
    ]);
  });

  it('reports a start with another master key before the start fails', async () => {
    const recorded: KmsSecurityEvent[] = [];
    @Injectable()
    class Listener {
      constructor(security: KmsSecurityEvents) {
        security.listen(async (event) => {
          await new Promise((resolve) => setTimeout(resolve, 10));
          recorded.push(event);
        });
      }
    }
    @Module({
      imports: [KmsModule.forRoot({ masterKey: newMasterKey(), connection: db.connection })],
      providers: [Listener],
    })
    class WrongKeyModule {}
    const error = await caught(() => startTestApp({ imports: [WrongKeyModule] }));
    expect(error).toBeInstanceOf(MasterKeyMismatchError);
    expect(recorded).toEqual([
      {
        kind: 'master-key-mismatch',
        fingerprint: (error as MasterKeyMismatchError).actualFingerprint,
      },
    ]);
  });
});
