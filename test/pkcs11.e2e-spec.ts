import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pkcs11js from 'pkcs11js';
import {
  KMS_EVENTS,
  KmsConfigurationError,
  MasterKeyProviderError,
  MasterKeyUnavailableError,
  type MasterKeyProvider,
} from '@nest-kms/kms';
import {
  generatePkcs11MasterKey,
  masterKeyFromEnvironment,
  pkcs11MasterKey,
  Pkcs11MasterKeyProvider,
  type Pkcs11MasterKeyOptions,
} from '@nest-kms/pkcs11';
import { CapturedLogger, loggedEvents } from './support/captured-logger.js';
import { caught } from './support/caught.js';
import { createTestDatabase, ENGINES } from './support/databases.js';
import { KmsFixture } from './support/kms-fixture.js';
import { masterKeyProviderContract } from './support/master-key-provider-contract.js';
import { createSoftHsmToken, softHsmAvailable, type SoftHsmToken } from './support/softhsm.js';

// Before anything initialises the library: SoftHSM2 reads its configuration then.
const hsm: SoftHsmToken | undefined = softHsmAvailable
  ? createSoftHsmToken(undefined, ['nest-kms-lonely'])
  : undefined;

type Pkcs11 = InstanceType<typeof pkcs11js.PKCS11>;

describe.skipIf(!softHsmAvailable)('PKCS#11 master key on a SoftHSM2 token', () => {
  const { module, tokenLabel, pin } = hsm ?? { module: '', tokenLabel: '', pin: '' };
  const lonely = hsm?.otherTokens[0] ?? { tokenLabel: '', pin: '' };
  const made: MasterKeyProvider[] = [];
  /** The test's own handle on the library, initialised first, so no provider finalises it. */
  let library: Pkcs11;
  let slot: Buffer;
  let master: Pkcs11MasterKeyProvider;
  let other: Pkcs11MasterKeyProvider;

  const provider = (overrides: Partial<Pkcs11MasterKeyOptions> = {}): Pkcs11MasterKeyProvider => {
    const created = pkcs11MasterKey({ module, tokenLabel, keyLabel: 'master', pin, ...overrides });
    made.push(created);
    return created;
  };

  /** A logged-in session of the test's own, closed after `work`. */
  const withSession = <T>(work: (session: Buffer) => T): T => {
    const session = library.C_OpenSession(
      slot,
      pkcs11js.CKF_RW_SESSION | pkcs11js.CKF_SERIAL_SESSION,
    );
    try {
      try {
        library.C_Login(session, pkcs11js.CKU_USER, pin);
      } catch (error) {
        if ((error as { code?: number }).code !== pkcs11js.CKR_USER_ALREADY_LOGGED_IN) throw error;
      }
      return work(session);
    } finally {
      library.C_CloseSession(session);
    }
  };

  const keyHandle = (session: Buffer, label: string): Buffer => {
    library.C_FindObjectsInit(session, [{ type: pkcs11js.CKA_LABEL, value: label }]);
    const [handle] = library.C_FindObjects(session, 1);
    library.C_FindObjectsFinal(session);
    return handle;
  };

  /** An AES key made with the test's own session, with the attributes a provider must refuse. */
  const makeKey = (label: string, attributes: { type: number; value: boolean | number }[]) =>
    withSession((session) =>
      library.C_GenerateKey(session, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
        { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
        { type: pkcs11js.CKA_TOKEN, value: true },
        { type: pkcs11js.CKA_PRIVATE, value: true },
        { type: pkcs11js.CKA_ENCRYPT, value: true },
        { type: pkcs11js.CKA_DECRYPT, value: true },
        { type: pkcs11js.CKA_LABEL, value: label },
        ...attributes,
      ]),
    );

  beforeAll(async () => {
    library = new pkcs11js.PKCS11();
    library.load(module);
    library.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
    slot = library
      .C_GetSlotList(true)
      .find((candidate) => library.C_GetTokenInfo(candidate).label.trimEnd() === tokenLabel)!;
    await generatePkcs11MasterKey({ module, tokenLabel, keyLabel: 'master', pin });
    await generatePkcs11MasterKey({
      module,
      tokenLabel,
      keyLabel: 'other',
      pin,
      id: Buffer.from('0a0b', 'hex'),
    });
    master = provider();
    other = provider({ keyLabel: 'other' });
  });

  afterAll(async () => {
    for (const created of made) await created.destroy?.();
    library?.C_Finalize();
    library?.close();
    hsm?.cleanup();
  });

  describe('the master key provider contract', () => {
    masterKeyProviderContract({ provider: () => master, other: () => other });
  });

  it('names the key by token serial, key label and CKA_ID, the same for every instance', async () => {
    const serial = library.C_GetTokenInfo(slot).serialNumber.trimEnd();
    expect(await master.fingerprint()).toBe(`pkcs11:${serial}/master`);
    expect(await other.fingerprint()).toBe(`pkcs11:${serial}/other/0a0b`);
    expect(await provider().fingerprint()).toBe(`pkcs11:${serial}/master`);
  });

  it('generatePkcs11MasterKey makes a key that never leaves the token', async () => {
    await master.fingerprint();
    withSession((session) => {
      const key = keyHandle(session, 'master');
      const [alwaysSensitive, neverExtractable] = library
        .C_GetAttributeValue(session, key, [
          { type: pkcs11js.CKA_ALWAYS_SENSITIVE },
          { type: pkcs11js.CKA_NEVER_EXTRACTABLE },
        ])
        .map((attribute) => attribute.value[0]);
      expect([alwaysSensitive, neverExtractable]).toEqual([1, 1]);
      const read = (() => {
        try {
          library.C_GetAttributeValue(session, key, [{ type: pkcs11js.CKA_VALUE }]);
        } catch (error) {
          return error as { code?: number };
        }
      })();
      expect(read?.code).toBe(pkcs11js.CKR_ATTRIBUTE_SENSITIVE);
      const wrappingKey = library.C_GenerateKey(session, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
        { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
        { type: pkcs11js.CKA_VALUE_LEN, value: 32 },
        { type: pkcs11js.CKA_TOKEN, value: false },
        { type: pkcs11js.CKA_WRAP, value: true },
      ]);
      const wrapped = (() => {
        try {
          library.C_WrapKey(
            session,
            { mechanism: pkcs11js.CKM_AES_KEY_WRAP_PAD },
            wrappingKey,
            key,
            Buffer.alloc(64),
          );
        } catch (error) {
          return error as { code?: number };
        }
      })();
      expect(wrapped?.code).toBe(pkcs11js.CKR_KEY_UNEXTRACTABLE);
    });
  });

  it('generatePkcs11MasterKey refuses a label that is taken', async () => {
    const error = await caught(() =>
      generatePkcs11MasterKey({ module, tokenLabel, keyLabel: 'master', pin }),
    );
    expect(error).toBeInstanceOf(MasterKeyProviderError);
    expect(error.message).toContain('exists on the token already');
  });

  it('refuses a key that could leave the token, or is not AES-256', async () => {
    makeKey('extractable', [
      { type: pkcs11js.CKA_VALUE_LEN, value: 32 },
      { type: pkcs11js.CKA_SENSITIVE, value: true },
      { type: pkcs11js.CKA_EXTRACTABLE, value: true },
    ]);
    makeKey('readable', [
      { type: pkcs11js.CKA_VALUE_LEN, value: 32 },
      { type: pkcs11js.CKA_SENSITIVE, value: false },
      { type: pkcs11js.CKA_EXTRACTABLE, value: false },
    ]);
    makeKey('aes-128', [
      { type: pkcs11js.CKA_VALUE_LEN, value: 16 },
      { type: pkcs11js.CKA_SENSITIVE, value: true },
      { type: pkcs11js.CKA_EXTRACTABLE, value: false },
    ]);
    const refusals = {
      extractable: 'CKA_EXTRACTABLE is true',
      readable: 'CKA_SENSITIVE is false',
      'aes-128': 'CKA_VALUE_LEN is 16',
    };
    for (const [keyLabel, reason] of Object.entries(refusals)) {
      const error = await caught(() => provider({ keyLabel }).fingerprint());
      expect(error).toBeInstanceOf(MasterKeyProviderError);
      expect((error as MasterKeyProviderError).reason).toContain(reason);
    }
  });

  it('refuses a key label, a token label or a library that is not there', async () => {
    const noKey = await caught(() => provider({ keyLabel: 'absent' }).fingerprint());
    expect(noKey).toBeInstanceOf(MasterKeyProviderError);
    expect(noKey.message).toContain('no AES secret key labelled "absent"');
    const noToken = await caught(() => provider({ tokenLabel: 'no-such-token' }).fingerprint());
    expect(noToken).toBeInstanceOf(MasterKeyProviderError);
    expect(noToken.message).toContain('no token labelled "no-such-token"');
    const noLibrary = await caught(() =>
      provider({ module: '/nonexistent/libpkcs11.so' }).fingerprint(),
    );
    expect(noLibrary).toBeInstanceOf(MasterKeyProviderError);
    expect(noLibrary.message).toContain('cannot load the PKCS#11 library');
  });

  it('refuses a wrong PIN for good, without the PIN in its message or in any log line', async () => {
    const wrongPin = `wrong-${randomBytes(6).toString('hex')}`;
    // A token no other provider of this process is logged in to: a login holds per process.
    const wrong = provider({ tokenLabel: lonely.tokenLabel, keyLabel: 'master', pin: wrongPin });
    const db = await createTestDatabase('sqlite');
    try {
      const startError = await caught(() =>
        KmsFixture.register('forRoot', { masterKey: wrong, connection: db.connection }),
      );
      const again = await caught(() => wrong.wrapDataKey(randomBytes(32), 'dk-1'));
      for (const error of [startError, again]) {
        expect(error).toBeInstanceOf(MasterKeyProviderError);
        expect(error.message).toContain('CKR_PIN_INCORRECT');
        expect(error.message).not.toContain(wrongPin);
        expect(error.message).not.toContain(lonely.pin);
      }
      expect(CapturedLogger.allText()).not.toContain(wrongPin);
      expect(CapturedLogger.allText()).not.toContain(lonely.pin);
    } finally {
      await db.drop();
    }
  });

  it('fails the call after its session is closed under it, and opens a new one for the next', async () => {
    const closed = provider();
    const wrapped = await closed.wrapDataKey(Buffer.alloc(32, 7), 'dk-session');
    library.C_CloseAllSessions(slot);
    const lost = await caught(() => closed.unwrapDataKey(wrapped, 'dk-session'));
    expect(lost).toBeInstanceOf(MasterKeyUnavailableError);
    expect(lost.message).toContain('CKR_SESSION_HANDLE_INVALID');
    expect(await closed.unwrapDataKey(wrapped, 'dk-session')).toEqual(Buffer.alloc(32, 7));
    expect(
      await closed.unwrapDataKey(await closed.wrapDataKey(Buffer.alloc(32, 8), 'dk-2'), 'dk-2'),
    ).toEqual(Buffer.alloc(32, 8));
    // The fault closed every session on the token, the other providers' too: each notices it
    // on its next call, made here so that the next tests start from open sessions.
    for (const live of made) await live.wrapDataKey(randomBytes(32), 'dk').catch(() => undefined);
  });

  it('keeps working when another provider on the same token is destroyed', async () => {
    const first = provider();
    const second = provider();
    const wrapped = await first.wrapDataKey(Buffer.alloc(32, 3), 'dk-shared');
    await second.fingerprint();
    await first.destroy();
    expect(await second.unwrapDataKey(wrapped, 'dk-shared')).toEqual(Buffer.alloc(32, 3));
    const destroyed = await caught(() => first.unwrapDataKey(wrapped, 'dk-shared'));
    expect(destroyed).toBeInstanceOf(MasterKeyProviderError);
  });

  it('wraps and unwraps 50 data keys at once, each to its own key', async () => {
    const keys = Array.from({ length: 50 }, () => randomBytes(32));
    const wrapped = await Promise.all(keys.map((key, at) => master.wrapDataKey(key, `dk-${at}`)));
    const unwrapped = await Promise.all(
      wrapped.map((blob, at) => master.unwrapDataKey(blob, `dk-${at}`)),
    );
    unwrapped.forEach((key, at) => expect(key.equals(keys[at])).toBe(true));
  });

  it('answers an aborted call with MasterKeyUnavailableError, and the token never sees a call aborted while it waited', async () => {
    const alreadyAborted = await caught(() =>
      master.wrapDataKey(randomBytes(32), 'dk-abort', { signal: AbortSignal.abort() }),
    );
    expect(alreadyAborted).toBeInstanceOf(MasterKeyUnavailableError);
    expect(alreadyAborted.message).toContain('aborted');
    const controller = new AbortController();
    const ahead = master.wrapDataKey(randomBytes(32), 'dk-ahead');
    const waiting = master.wrapDataKey(randomBytes(32), 'dk-waiting', {
      signal: controller.signal,
    });
    controller.abort();
    expect(await caught(() => waiting)).toBeInstanceOf(MasterKeyUnavailableError);
    expect((await ahead).length).toBe(61);
  });

  it('gives up on a call that waits longer than requestTimeoutMs', async () => {
    const slow = provider({ requestTimeoutMs: 5_000 });
    await slow.fingerprint();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const calls = [1, 2, 3].map((n) => slow.wrapDataKey(randomBytes(32), `dk-${n}`));
      const outcomes = Promise.allSettled(calls);
      vi.advanceTimersByTime(5_000);
      for (const outcome of await outcomes) {
        expect(outcome.status).toBe('rejected');
        const reason = (outcome as PromiseRejectedResult).reason as Error;
        expect(reason).toBeInstanceOf(MasterKeyUnavailableError);
        expect(reason.message).toContain('no answer within 5000 ms');
      }
    } finally {
      vi.useRealTimers();
    }
    expect((await slow.wrapDataKey(randomBytes(32), 'dk-after')).length).toBe(61);
  });

  for (const engine of ENGINES) {
    describe(engine, () => {
      it('KmsModule encrypts, restarts with a new provider instance and decrypts', async () => {
        const db = await createTestDatabase(engine);
        try {
          const before = await KmsFixture.register('forRoot', {
            masterKey: provider(),
            connection: db.connection,
          });
          const envelope = await before.kms.encryptToString('held by the HSM');
          await before.close();
          const after = await KmsFixture.register('forRoot', {
            masterKey: provider(),
            connection: db.connection,
          });
          try {
            expect(await after.kms.decryptData(envelope)).toBe('held by the HSM');
            expect(CapturedLogger.allText()).not.toContain(pin);
          } finally {
            await after.close();
          }
        } finally {
          await db.drop();
        }
      });
    });
  }

  for (const engine of ENGINES) {
    describe(`${engine}: a session lost under a running KmsModule`, () => {
      it('is reopened when the keyring retries, so rotating the data key succeeds', async () => {
        const db = await createTestDatabase(engine);
        try {
          const app = await KmsFixture.register('forRoot', {
            masterKey: provider(),
            connection: db.connection,
          });
          try {
            const envelope = await app.kms.encryptToString('before the loss');
            const since = CapturedLogger.everything.length;
            library.C_CloseAllSessions(slot);
            const rotation = await app.kms.rotateDataKey('after a lost session');
            expect(rotation.previousKeyId).not.toBe(rotation.keyId);
            expect(await app.kms.decryptData(envelope)).toBe('before the loss');
            expect(loggedEvents(KMS_EVENTS.masterKeyCallFailed, since)).toContainEqual(
              expect.objectContaining({ provider: 'pkcs11', code: 'KMS_MASTER_KEY_UNAVAILABLE' }),
            );
          } finally {
            await app.close();
          }
        } finally {
          await db.drop();
          for (const live of made)
            await live.wrapDataKey(randomBytes(32), 'dk').catch(() => undefined);
        }
      });
    });
  }

  describe('masterKeyFromEnvironment', () => {
    const base = {
      KMS_PKCS11_MODULE: module,
      KMS_PKCS11_TOKEN_LABEL: tokenLabel,
      KMS_PKCS11_KEY_LABEL: 'master',
    };
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'nest-kms-pin-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    const pinFile = (mode: number): string => {
      const file = join(dir, 'pin');
      writeFileSync(file, `${pin}\n`, { mode });
      chmodSync(file, mode);
      return file;
    };

    it('builds a working provider from KMS_PKCS11_PIN', async () => {
      const fromEnv = masterKeyFromEnvironment({ ...base, KMS_PKCS11_PIN: pin });
      made.push(fromEnv);
      expect(await fromEnv.fingerprint()).toBe(await master.fingerprint());
    });

    it('builds a working provider from an owner-only KMS_PKCS11_PIN_FILE', async () => {
      const fromEnv = masterKeyFromEnvironment({ ...base, KMS_PKCS11_PIN_FILE: pinFile(0o600) });
      made.push(fromEnv);
      const wrapped = await fromEnv.wrapDataKey(Buffer.alloc(32, 1), 'dk-env');
      expect(await master.unwrapDataKey(wrapped, 'dk-env')).toEqual(Buffer.alloc(32, 1));
    });

    it('refuses a PIN file readable by group or others, naming the variable but not the PIN', () => {
      const error = (() => {
        try {
          masterKeyFromEnvironment({ ...base, KMS_PKCS11_PIN_FILE: pinFile(0o644) });
        } catch (thrown) {
          return thrown as Error;
        }
      })();
      expect(error).toBeInstanceOf(KmsConfigurationError);
      expect(error?.message).toContain('KMS_PKCS11_PIN_FILE');
      expect(error?.message).toContain('chmod 600');
      expect(error?.message).not.toContain(pin);
    });

    it('names the missing variable', () => {
      for (const [missing, env] of [
        ['KMS_PKCS11_MODULE', { ...base, KMS_PKCS11_MODULE: undefined, KMS_PKCS11_PIN: pin }],
        ['KMS_PKCS11_TOKEN_LABEL', { ...base, KMS_PKCS11_TOKEN_LABEL: '', KMS_PKCS11_PIN: pin }],
        ['KMS_PKCS11_KEY_LABEL', { ...base, KMS_PKCS11_KEY_LABEL: undefined, KMS_PKCS11_PIN: pin }],
        ['KMS_PKCS11_PIN', base],
      ] as const) {
        expect(() => masterKeyFromEnvironment(env)).toThrow(KmsConfigurationError);
        expect(() => masterKeyFromEnvironment(env)).toThrow(missing);
      }
      expect(() =>
        masterKeyFromEnvironment({
          ...base,
          KMS_PKCS11_PIN: pin,
          KMS_PKCS11_REQUEST_TIMEOUT_MS: 'soon',
        }),
      ).toThrow('KMS_PKCS11_REQUEST_TIMEOUT_MS');
    });
  });
});
