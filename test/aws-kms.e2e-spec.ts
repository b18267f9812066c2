import { KMSClient } from '@aws-sdk/client-kms';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import {
  awsKmsMasterKey,
  masterKeyFromEnvironment,
  type AwsKmsMasterKeyOptions,
  type AwsKmsMasterKeyProvider,
} from '@nest-kms/aws-kms';
import {
  DecryptionFailedError,
  KmsConfigurationError,
  MasterKeyProviderError,
  MasterKeyUnavailableError,
  type MasterKeyProvider,
} from '@nest-kms/kms';
import { CapturedLogger } from './support/captured-logger.js';
import { caught } from './support/caught.js';
import { createTestDatabase, ENGINES, type TestDatabase } from './support/databases.js';
import { FakeAwsKms, KMS_FAULTS, type FakeKmsFault } from './support/fake-aws-kms.js';
import { KmsFixture, type KmsApp } from './support/kms-fixture.js';
import { masterKeyProviderContract } from './support/master-key-provider-contract.js';
import { eventually } from './support/eventually.js';

const secretAccessKey = randomBytes(30).toString('base64');
const credentials = { accessKeyId: 'AKIATEST', secretAccessKey };
/** Every data key and error message the suite saw: none may hold the secret or a data key. */
const dataKeys: Buffer[] = [];
const errorMessages: string[] = [];

let fake: FakeAwsKms;
const providers: MasterKeyProvider[] = [];

/** A provider on the double's primary Region, short timeouts so fault cases end quickly. */
function provider(options: Partial<AwsKmsMasterKeyOptions> = {}): AwsKmsMasterKeyProvider {
  const created = awsKmsMasterKey({
    keyId: fake.keyArn,
    region: FakeAwsKms.PRIMARY_REGION,
    endpoint: fake.endpoint,
    credentials,
    connectTimeoutMs: 1_000,
    requestTimeoutMs: 2_000,
    ...options,
  });
  providers.push(created);
  return created;
}

function newDataKey(): Buffer {
  const key = randomBytes(32);
  dataKeys.push(Buffer.from(key));
  return key;
}

async function failure(work: () => Promise<unknown>): Promise<Error> {
  const error = await caught(work);
  errorMessages.push(`${error.message} ${JSON.stringify(error)}`);
  return error;
}

beforeAll(async () => {
  fake = await FakeAwsKms.start();
});

afterAll(async () => {
  for (const created of providers) await created.destroy?.();
  await fake.close();
});

describe('AwsKmsMasterKeyProvider', () => {
  describe('contract', () => {
    masterKeyProviderContract({
      provider: () => provider(),
      other: () => provider({ keyId: fake.otherKeyArn }),
    });
  });

  describe('key resolution and fingerprint', () => {
    it('resolves an alias name and an alias ARN to the key ARN', async () => {
      const aliasArn = `arn:aws:kms:${FakeAwsKms.PRIMARY_REGION}:${FakeAwsKms.ACCOUNT}:alias/nest-kms-test`;
      expect(await provider({ keyId: 'alias/nest-kms-test' }).fingerprint()).toBe(
        `aws-kms:${fake.keyArn}`,
      );
      expect(await provider({ keyId: aliasArn }).fingerprint()).toBe(`aws-kms:${fake.keyArn}`);

      const wrapped = await provider({ keyId: 'alias/nest-kms-test' }).wrapDataKey(
        newDataKey(),
        'dk-alias',
      );
      const byArn = provider();
      expect((await byArn.unwrapDataKey(wrapped, 'dk-alias')).length).toBe(32);
    });

    it('gives a multi-Region key one fingerprint in every Region, and a replica unwraps what the primary wrapped', async () => {
      const primary = provider({ keyId: fake.mrkId });
      const replica = provider({ keyId: fake.mrkId, region: FakeAwsKms.REPLICA_REGION });
      const fingerprint = await primary.fingerprint();
      expect(fingerprint).toBe(`aws-kms:arn:aws:kms:*:${FakeAwsKms.ACCOUNT}:key/${fake.mrkId}`);
      expect(await replica.fingerprint()).toBe(fingerprint);
      const replicaByArn = provider({
        keyId: fake.mrkArn(FakeAwsKms.REPLICA_REGION),
        region: FakeAwsKms.REPLICA_REGION,
      });
      expect(await replicaByArn.fingerprint()).toBe(fingerprint);

      const dataKey = newDataKey();
      const wrapped = await primary.wrapDataKey(dataKey, 'dk-mrk');
      expect((await replica.unwrapDataKey(wrapped, 'dk-mrk')).equals(dataKey)).toBe(true);
      expect(await failure(() => replica.unwrapDataKey(wrapped, 'dk-other'))).toBeInstanceOf(
        DecryptionFailedError,
      );
    });

    it('asks KMS once per instance, and again after a failed lookup', async () => {
      const subject = provider();
      const before = fake.calls.DescribeKey ?? 0;
      fake.inject(KMS_FAULTS.throttling);
      expect(await failure(() => subject.fingerprint())).toBeInstanceOf(MasterKeyUnavailableError);
      const fingerprint = await subject.fingerprint();
      await subject.fingerprint();
      await subject.unwrapDataKey(await subject.wrapDataKey(newDataKey(), 'dk-1'), 'dk-1');
      expect(fingerprint).toBe(`aws-kms:${fake.keyArn}`);
      expect((fake.calls.DescribeKey ?? 0) - before).toBe(2);
    });

    it.each([
      ['a signing key', { keySpec: 'ECC_NIST_P256', keyUsage: 'SIGN_VERIFY' }, /SIGN_VERIFY/],
      ['a disabled key', { keyState: 'Disabled' as const }, /Disabled/],
      ['a key pending deletion', { keyState: 'PendingDeletion' as const }, /PendingDeletion/],
    ])('refuses %s at start with MasterKeyProviderError', async (_, key, reason) => {
      const keyArn = fake.addKey(key);
      const error = await failure(() => provider({ keyId: keyArn }).fingerprint());
      expect(error).toBeInstanceOf(MasterKeyProviderError);
      expect((error as MasterKeyProviderError).reason).toMatch(reason);
    });

    it('refuses a key that does not exist, and credentials KMS does not know', async () => {
      const missing = await failure(() => provider({ keyId: 'alias/missing' }).fingerprint());
      expect(missing).toBeInstanceOf(MasterKeyProviderError);
      expect((missing as MasterKeyProviderError).reason).toMatch(/NotFoundException/);

      const stranger = provider({
        credentials: { accessKeyId: 'AKIAUNKNOWN', secretAccessKey },
      });
      const unknown = await failure(() => stranger.fingerprint());
      expect(unknown).toBeInstanceOf(MasterKeyProviderError);
      expect((unknown as MasterKeyProviderError).reason).toMatch(/UnrecognizedClientException/);
    });
  });

  describe('requests', () => {
    it('binds the data key id in the encryption context and passes grant tokens on every call', async () => {
      const subject = provider({ grantTokens: ['grant-token-1'] });
      const since = fake.requests.length;
      await subject.unwrapDataKey(await subject.wrapDataKey(newDataKey(), 'dk-ctx'), 'dk-ctx');
      const sent = fake.requests.slice(since);
      expect(sent.map((request) => request.operation)).toEqual([
        'DescribeKey',
        'Encrypt',
        'Decrypt',
      ]);
      for (const request of sent) expect(request.body.GrantTokens).toEqual(['grant-token-1']);
      for (const request of sent.slice(1)) {
        expect(request.body.EncryptionContext).toEqual({
          'nest-kms:data-key-id': 'dk-ctx',
          'nest-kms:purpose': 'data-key',
        });
      }
      expect(sent[2].body.KeyId).toBe(fake.keyArn);
    });

    it('zeroes the SDK copy of an unwrapped data key', async () => {
      const client = new KMSClient({
        region: FakeAwsKms.PRIMARY_REGION,
        endpoint: fake.endpoint,
        credentials,
        maxAttempts: 1,
      });
      const answered: Uint8Array[] = [];
      client.middlewareStack.add(
        (next) => async (args) => {
          const result = await next(args);
          const plaintext = (result.output as { Plaintext?: Uint8Array }).Plaintext;
          if (plaintext !== undefined) answered.push(plaintext);
          return result;
        },
        { step: 'initialize' },
      );
      const subject = provider({
        client,
        region: undefined,
        endpoint: undefined,
        credentials: undefined,
        connectTimeoutMs: undefined,
        requestTimeoutMs: undefined,
      });
      const dataKey = newDataKey();
      const unwrapped = await subject.unwrapDataKey(
        await subject.wrapDataKey(dataKey, 'dk-zero'),
        'dk-zero',
      );
      expect(unwrapped.equals(dataKey)).toBe(true);
      expect(answered).toHaveLength(1);
      expect(answered[0].every((byte) => byte === 0)).toBe(true);
      client.destroy();
    });

    it('signs every request with SigV4 under the configured access key, never sending the secret', () => {
      expect(fake.requests.length).toBeGreaterThan(10);
      for (const request of fake.requests) {
        expect(request.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIA[A-Z]+\/\d{8}\//);
        expect(JSON.stringify(request)).not.toContain(secretAccessKey);
      }
    });
  });

  describe('failures', () => {
    const faults: [string, FakeKmsFault, new (...args: never[]) => Error][] = [
      ['ThrottlingException', KMS_FAULTS.throttling, MasterKeyUnavailableError],
      ['KMSInternalException (500)', KMS_FAULTS.internal, MasterKeyUnavailableError],
      [
        'a bare 503 from a load balancer',
        { kind: 'status', status: 503 },
        MasterKeyUnavailableError,
      ],
      [
        'LimitExceededException',
        { kind: 'error', status: 400, type: 'LimitExceededException', message: 'Too many' },
        MasterKeyUnavailableError,
      ],
      [
        'DependencyTimeoutException',
        { kind: 'error', status: 503, type: 'DependencyTimeoutException', message: 'Timed out' },
        MasterKeyUnavailableError,
      ],
      [
        'an answer later than requestTimeoutMs',
        { kind: 'latency', ms: 5_000 },
        MasterKeyUnavailableError,
      ],
      ['a dropped connection', { kind: 'drop' }, MasterKeyUnavailableError],
      ['AccessDeniedException', KMS_FAULTS.accessDenied, MasterKeyProviderError],
      ['DisabledException', KMS_FAULTS.disabled, MasterKeyProviderError],
      [
        'KMSInvalidStateException',
        {
          kind: 'error',
          status: 400,
          type: 'KMSInvalidStateException',
          message: 'Pending deletion',
        },
        MasterKeyProviderError,
      ],
      [
        'InvalidKeyUsageException',
        { kind: 'error', status: 400, type: 'InvalidKeyUsageException', message: 'Wrong usage' },
        MasterKeyProviderError,
      ],
      [
        'NotFoundException',
        { kind: 'error', status: 400, type: 'NotFoundException', message: 'No such key' },
        MasterKeyProviderError,
      ],
      [
        'another 4xx (ValidationException)',
        { kind: 'error', status: 400, type: 'ValidationException', message: 'Bad request' },
        MasterKeyProviderError,
      ],
      ['an answer about another key', { kind: 'answer-for-another-key' }, MasterKeyProviderError],
    ];

    for (const operation of ['wrap', 'unwrap'] as const) {
      for (const [label, fault, expected] of faults) {
        it(`${operation}: ${label} => ${expected.name}`, async () => {
          const subject = provider({ requestTimeoutMs: 200 });
          const dataKey = newDataKey();
          const wrapped = await subject.wrapDataKey(dataKey, 'dk-fault');
          const call = () =>
            operation === 'wrap'
              ? subject.wrapDataKey(dataKey, 'dk-fault')
              : subject.unwrapDataKey(wrapped, 'dk-fault');
          fake.inject(fault);
          expect(await failure(call)).toBeInstanceOf(expected);
          // The provider holds no broken state: the next call, fault gone, succeeds.
          const recovered =
            operation === 'wrap'
              ? await subject.unwrapDataKey(await call(), 'dk-fault')
              : await call();
          expect(recovered.equals(dataKey)).toBe(true);
        });
      }
    }

    it('fails as unavailable when the caller aborts, before or during the call', async () => {
      const subject = provider();
      await subject.fingerprint();
      const before = await failure(() =>
        subject.wrapDataKey(newDataKey(), 'dk-abort', { signal: AbortSignal.abort() }),
      );
      expect(before).toBeInstanceOf(MasterKeyUnavailableError);

      const controller = new AbortController();
      const sent = fake.requests.length;
      fake.inject({ kind: 'latency', ms: 10_000 });
      const during = failure(() =>
        subject.wrapDataKey(newDataKey(), 'dk-abort', { signal: controller.signal }),
      );
      await eventually(() => expect(fake.requests.length).toBeGreaterThan(sent));
      controller.abort();
      expect(await during).toBeInstanceOf(MasterKeyUnavailableError);
    });

    it('fails as unavailable when nothing listens at the endpoint', async () => {
      const server = createServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as { port: number };
      await new Promise<void>((resolve) => server.close(() => resolve()));
      const error = await failure(() =>
        provider({ endpoint: `http://127.0.0.1:${port}` }).fingerprint(),
      );
      expect(error).toBeInstanceOf(MasterKeyUnavailableError);
      expect((error as MasterKeyUnavailableError).reason).toMatch(/ECONNREFUSED/);
    });

    it('refuses a wrapped key that is not of this provider', async () => {
      const subject = provider();
      const wrapped = await subject.wrapDataKey(newDataKey(), 'dk-format');
      const local = Buffer.concat([Buffer.of(0x01), wrapped.subarray(1)]);
      expect(await failure(() => subject.unwrapDataKey(local, 'dk-format'))).toBeInstanceOf(
        DecryptionFailedError,
      );
    });
  });

  describe('configuration', () => {
    it('builds a working provider from environment variables', async () => {
      const before = { ...process.env };
      // The SDK's default credential chain reads these.
      process.env.AWS_ACCESS_KEY_ID = credentials.accessKeyId;
      process.env.AWS_SECRET_ACCESS_KEY = secretAccessKey;
      try {
        const subject = masterKeyFromEnvironment({
          KMS_AWS_KMS_KEY_ID: 'alias/nest-kms-test',
          AWS_REGION: FakeAwsKms.PRIMARY_REGION,
          KMS_AWS_KMS_ENDPOINT: fake.endpoint,
          KMS_AWS_KMS_GRANT_TOKENS: 'token-a, token-b',
          KMS_AWS_KMS_CONNECT_TIMEOUT_MS: '1000',
          KMS_AWS_KMS_REQUEST_TIMEOUT_MS: '2000',
        });
        providers.push(subject);
        const since = fake.requests.length;
        expect(await subject.fingerprint()).toBe(`aws-kms:${fake.keyArn}`);
        const dataKey = newDataKey();
        const wrapped = await subject.wrapDataKey(dataKey, 'dk-env');
        expect((await subject.unwrapDataKey(wrapped, 'dk-env')).equals(dataKey)).toBe(true);
        expect(fake.requests[since].body.GrantTokens).toEqual(['token-a', 'token-b']);
      } finally {
        process.env.AWS_ACCESS_KEY_ID = before.AWS_ACCESS_KEY_ID;
        process.env.AWS_SECRET_ACCESS_KEY = before.AWS_SECRET_ACCESS_KEY;
        if (before.AWS_ACCESS_KEY_ID === undefined) delete process.env.AWS_ACCESS_KEY_ID;
        if (before.AWS_SECRET_ACCESS_KEY === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
      }
    });

    it.each([
      [{}, /KMS_AWS_KMS_KEY_ID is required/],
      [
        { KMS_AWS_KMS_KEY_ID: 'alias/a', KMS_AWS_KMS_REQUEST_TIMEOUT_MS: 'soon' },
        /KMS_AWS_KMS_REQUEST_TIMEOUT_MS/,
      ],
      [
        { KMS_AWS_KMS_KEY_ID: 'alias/a', KMS_AWS_KMS_CONNECT_TIMEOUT_MS: '0' },
        /KMS_AWS_KMS_CONNECT_TIMEOUT_MS/,
      ],
      [
        { KMS_AWS_KMS_KEY_ID: 'alias/a', KMS_AWS_KMS_ENDPOINT: 'kms.local' },
        /KMS_AWS_KMS_ENDPOINT/,
      ],
    ])('names the missing or invalid variable: %o', (env, message) => {
      expect(() => masterKeyFromEnvironment(env)).toThrow(KmsConfigurationError);
      expect(() => masterKeyFromEnvironment(env)).toThrow(message);
    });

    it('refuses client options beside a client of its own', () => {
      const client = new KMSClient({ region: FakeAwsKms.PRIMARY_REGION });
      expect(() => awsKmsMasterKey({ keyId: 'alias/a', client, region: 'eu-west-1' })).toThrow(
        /region cannot be set with client/,
      );
      client.destroy();
    });
  });
});

for (const engine of ENGINES) {
  describe(`KmsModule with an AWS KMS master key on ${engine}`, () => {
    let db: TestDatabase;
    const apps: KmsApp[] = [];

    beforeEach(async () => {
      db = await createTestDatabase(engine);
    });

    afterEach(async () => {
      for (const app of apps.splice(0)) await app.close();
      await db.drop();
    });

    async function start(): Promise<KmsApp> {
      const app = await KmsFixture.register('forRoot', {
        masterKey: provider(),
        connection: db.connection,
        // The keyring's periodic probe would add calls of its own.
        masterKeyCalls: { probeIntervalMs: 0 },
      });
      apps.push(app);
      return app;
    }

    it('encrypts, restarts with a new provider instance and decrypts, with no KMS call per value', async () => {
      const first = await start();
      const afterStart = fake.keyCalls();
      const values = Array.from(
        { length: 100 },
        (_, at) => `value ${at} ${randomBytes(8).toString('hex')}`,
      );
      const envelopes: string[] = [];
      for (const value of values) envelopes.push(await first.kms.encryptToString(value));
      for (const [at, envelope] of envelopes.entries()) {
        expect(await first.kms.decryptData(envelope)).toBe(values[at]);
      }
      expect(fake.keyCalls()).toBe(afterStart);
      await first.close();
      apps.splice(apps.indexOf(first), 1);

      const second = await start();
      const afterRestart = fake.keyCalls();
      for (const [at, envelope] of envelopes.entries()) {
        expect(await second.kms.decryptData(envelope)).toBe(values[at]);
      }
      expect(fake.keyCalls()).toBe(afterRestart);
    });

    it('starts from KMS_MASTER_KEY_PROVIDER=aws-kms and its variables', async () => {
      const variables: Record<string, string> = {
        KMS_MASTER_KEY_PROVIDER: 'aws-kms',
        KMS_AWS_KMS_KEY_ID: 'alias/nest-kms-test',
        KMS_AWS_KMS_REGION: FakeAwsKms.PRIMARY_REGION,
        KMS_AWS_KMS_ENDPOINT: fake.endpoint,
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: secretAccessKey,
      };
      const before = Object.fromEntries(
        Object.keys(variables).map((name) => [name, process.env[name]]),
      );
      Object.assign(process.env, variables);
      try {
        const describedBefore = fake.calls.DescribeKey ?? 0;
        const app = await KmsFixture.register('forRoot', {
          connection: db.connection,
          masterKeyCalls: { probeIntervalMs: 0 },
        });
        apps.push(app);
        expect(fake.calls.DescribeKey ?? 0).toBe(describedBefore + 1);
        const envelope = await app.kms.encryptToString('from the environment');
        expect(await app.kms.decryptData(envelope)).toBe('from the environment');
      } finally {
        for (const [name, value] of Object.entries(before)) {
          if (value === undefined) delete process.env[name];
          else process.env[name] = value;
        }
      }
    });
  });
}

describe('leaks', () => {
  it('no log line or error message holds the secret access key or a data key', () => {
    const text = `${CapturedLogger.allText()}\n${errorMessages.join('\n')}`;
    expect(errorMessages.length).toBeGreaterThan(20);
    expect(text).not.toContain(secretAccessKey);
    for (const key of dataKeys) {
      expect(text).not.toContain(key.toString('base64'));
      expect(text).not.toContain(key.toString('hex'));
    }
  });
});
