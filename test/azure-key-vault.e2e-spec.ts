import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { AuthenticationError, CredentialUnavailableError } from '@azure/identity';
import { CryptographyClient, type UnwrapResult } from '@azure/keyvault-keys';
import {
  DecryptionFailedError,
  InvalidInputError,
  KmsConfigurationError,
  MasterKeyProviderError,
  MasterKeyUnavailableError,
} from '@nest-kms/kms';
import {
  azureKeyVaultMasterKey,
  masterKeyFromEnvironment,
  type AzureKeyVaultMasterKeyOptions,
  type AzureKeyVaultMasterKeyProvider,
} from '@nest-kms/azure-key-vault';
import { CapturedLogger } from './support/captured-logger.js';
import { caught } from './support/caught.js';
import { createTestDatabase, ENGINES } from './support/databases.js';
import {
  FakeAzureKeyVault,
  opensslAvailable,
  type FakeVaultFault,
  type FakeVaultOperation,
} from './support/fake-azure-key-vault.js';
import { KmsFixture } from './support/kms-fixture.js';
import { masterKeyProviderContract } from './support/master-key-provider-contract.js';

const haveOpenssl = opensslAvailable();
if (!haveOpenssl) {
  if (process.env.CI === 'true') {
    throw new Error(
      'openssl is not on PATH; the Azure Key Vault double needs it and CI=true requires it',
    );
  }
  console.warn(
    '[nest-kms tests] NOTICE: openssl is not on PATH; the Azure Key Vault suite is skipped',
  );
}

describe.skipIf(!haveOpenssl)('Azure Key Vault master key', () => {
  let vault: FakeAzureKeyVault;
  let rsaKeyId: string;
  let otherRsaKeyId: string;
  let aesKeyId: string;
  let otherAesKeyId: string;
  /** Every data key handed to a provider here, and every error seen: the leak scan reads them. */
  const dataKeys: Buffer[] = [];
  const errors: Error[] = [];
  const providers: AzureKeyVaultMasterKeyProvider[] = [];

  beforeAll(async () => {
    vault = await FakeAzureKeyVault.start();
    rsaKeyId = vault.addRsaKey('nest-kms-master');
    otherRsaKeyId = vault.addRsaKey('another-master');
    aesKeyId = vault.addAesKey('nest-kms-hsm-master');
    otherAesKeyId = vault.addAesKey('another-hsm-master');
  });
  afterEach(() => {
    vault.clearFaults();
    for (const provider of providers.splice(0)) provider.destroy();
  });
  afterAll(async () => {
    await vault?.close();
  });

  /** A provider on the double with short timeouts, destroyed after the test. */
  function providerFor(
    keyId: string,
    options: Partial<AzureKeyVaultMasterKeyOptions> = {},
  ): AzureKeyVaultMasterKeyProvider {
    const provider = azureKeyVaultMasterKey({
      keyId,
      algorithm: keyId === aesKeyId || keyId === otherAesKeyId ? 'A256KW' : 'RSA-OAEP-256',
      credential: vault.credential(),
      clientOptions: vault.clientOptions(),
      connectTimeoutMs: 1_000,
      requestTimeoutMs: 1_000,
      ...options,
    });
    providers.push(provider);
    return provider;
  }

  function newDataKey(): Buffer {
    const key = randomBytes(32);
    dataKeys.push(key);
    return key;
  }

  async function failure(work: () => Promise<unknown>): Promise<Error> {
    const error = await caught(work);
    errors.push(error);
    return error;
  }

  describe('RSA-OAEP-256 (a vault RSA key)', () => {
    masterKeyProviderContract({
      provider: () => providerFor(rsaKeyId),
      other: () => providerFor(otherRsaKeyId),
    });
  });

  describe('A256KW (a Managed HSM AES key)', () => {
    masterKeyProviderContract({
      provider: () => providerFor(aesKeyId),
      other: () => providerFor(otherAesKeyId),
    });
  });

  describe('talking to the vault', () => {
    it('answers the bearer challenge with a token for the vault scope, then reuses it', async () => {
      const credential = vault.credential();
      const provider = providerFor(rsaKeyId, { credential });
      const challengesBefore = vault.challenges;
      const wrapped = await provider.wrapDataKey(newDataKey(), 'dk-1');
      expect(vault.challenges).toBe(challengesBefore + 1);
      expect(credential.scopes).toEqual(['https://vault.azure.net/.default']);
      await provider.unwrapDataKey(wrapped, 'dk-1');
      expect(vault.challenges).toBe(challengesBefore + 1);
      expect(vault.apiVersions.size).toBeGreaterThan(0);
    });

    it('names the key version in its fingerprint without calling the vault', async () => {
      const provider = providerFor(rsaKeyId);
      const calls = { ...vault.calls };
      const identity = rsaKeyId.replace('https://', '').toLowerCase();
      expect(await provider.fingerprint()).toBe(`azure-key-vault:${identity}`);
      expect(vault.calls).toEqual(calls);
    });

    it('lays out a wrapped key as format byte, algorithm byte, the vault wrapped bytes', async () => {
      const rsa = await providerFor(rsaKeyId).wrapDataKey(newDataKey(), 'dk-1');
      const aes = await providerFor(aesKeyId).wrapDataKey(newDataKey(), 'dk-1');
      expect([rsa[0], rsa[1], rsa.length]).toEqual([0x01, 0x01, 2 + 256]);
      expect([aes[0], aes[1], aes.length]).toEqual([0x01, 0x02, 2 + 88]);
    });

    it('refuses, without a vault call, a key wrapped under the other algorithm', async () => {
      const wrapped = await providerFor(rsaKeyId).wrapDataKey(newDataKey(), 'dk-1');
      const unwrapsBefore = vault.calls.unwrapKey;
      const error = await failure(() =>
        providerFor(rsaKeyId, { algorithm: 'A256KW' }).unwrapDataKey(wrapped, 'dk-1'),
      );
      expect(error).toBeInstanceOf(DecryptionFailedError);
      expect(vault.calls.unwrapKey).toBe(unwrapsBefore);
    });

    it('zeroes the unwrapped bytes the SDK returned once the data key is copied out', async () => {
      const provider = providerFor(aesKeyId);
      const dataKey = newDataKey();
      const wrapped = await provider.wrapDataKey(dataKey, 'dk-1');
      const results: UnwrapResult[] = [];
      const original = CryptographyClient.prototype.unwrapKey;
      const spy = vi
        .spyOn(CryptographyClient.prototype, 'unwrapKey')
        .mockImplementation(async function (this: CryptographyClient, ...args) {
          const result = await original.apply(this, args);
          results.push(result);
          return result;
        });
      try {
        expect((await provider.unwrapDataKey(wrapped, 'dk-1')).equals(dataKey)).toBe(true);
      } finally {
        spy.mockRestore();
      }
      expect(results).toHaveLength(1);
      expect(results[0]!.result.length).toBe(80);
      expect(results[0]!.result.every((byte) => byte === 0)).toBe(true);
    });

    it('refuses a data key that is not 32 bytes', async () => {
      const error = await failure(() => providerFor(rsaKeyId).wrapDataKey(randomBytes(16), 'dk-1'));
      expect(error).toBeInstanceOf(InvalidInputError);
    });

    it('refuses a key URL without a version, or not https', () => {
      for (const keyId of [
        'https://example.vault.azure.net/keys/master',
        'http://example.vault.azure.net/keys/master/0123456789abcdef0123456789abcdef',
        'https://example.vault.azure.net/secrets/master/0123456789abcdef0123456789abcdef',
        'not a url',
      ]) {
        expect(() => azureKeyVaultMasterKey({ keyId, credential: vault.credential() })).toThrow(
          KmsConfigurationError,
        );
      }
    });

    it('keeps a long key name within the 128-character fingerprint', async () => {
      const keyId = `https://example.vault.azure.net/keys/${'k'.repeat(127)}/0123456789abcdef0123456789abcdef`;
      const provider = azureKeyVaultMasterKey({ keyId, credential: vault.credential() });
      providers.push(provider);
      const fingerprint = await provider.fingerprint();
      expect(fingerprint).toMatch(/^azure-key-vault:sha256:[0-9a-f]{64}$/);
      expect(fingerprint.length).toBeLessThanOrEqual(128);
    });
  });

  describe('failures', () => {
    type Expected =
      | typeof MasterKeyUnavailableError
      | typeof MasterKeyProviderError
      | typeof DecryptionFailedError;
    const matrix: [string, FakeVaultFault, FakeVaultOperation, Expected][] = [
      [
        'throttling (429 with Retry-After)',
        { status: 429, code: 'Throttled', retryAfterSeconds: 1 },
        'wrapKey',
        MasterKeyUnavailableError,
      ],
      [
        'a 500',
        { status: 500, code: 'InternalServerError' },
        'unwrapKey',
        MasterKeyUnavailableError,
      ],
      ['a 503', { status: 503, code: 'ServiceUnavailable' }, 'wrapKey', MasterKeyUnavailableError],
      ['a dropped connection', { drop: true }, 'unwrapKey', MasterKeyUnavailableError],
      [
        'no answer within the request timeout',
        { delayMs: 5_000 },
        'wrapKey',
        MasterKeyUnavailableError,
      ],
      [
        'a 401 (token no longer accepted)',
        { status: 401, code: 'Unauthorized' },
        'wrapKey',
        MasterKeyProviderError,
      ],
      [
        'a 403 (access denied)',
        { status: 403, code: 'Forbidden', innerCode: 'ForbiddenByPolicy' },
        'unwrapKey',
        MasterKeyProviderError,
      ],
      [
        'a 403 (key disabled)',
        { status: 403, code: 'Forbidden', innerCode: 'KeyDisabled' },
        'wrapKey',
        MasterKeyProviderError,
      ],
      [
        'a 404 (key deleted)',
        { status: 404, code: 'KeyNotFound' },
        'unwrapKey',
        MasterKeyProviderError,
      ],
      ['a 400 on wrap', { status: 400, code: 'BadParameter' }, 'wrapKey', MasterKeyProviderError],
      [
        'a 400 BadParameter on unwrap (the value does not decrypt)',
        { status: 400, code: 'BadParameter' },
        'unwrapKey',
        DecryptionFailedError,
      ],
      ['a wrap answer about another key', { otherKid: true }, 'wrapKey', MasterKeyProviderError],
      [
        'an unwrap answer about another key',
        { otherKid: true },
        'unwrapKey',
        MasterKeyProviderError,
      ],
    ];

    it.each(matrix)(
      '%s => its typed error, after exactly one request',
      async (_, fault, operation, expected) => {
        const provider = providerFor(rsaKeyId, { requestTimeoutMs: 300 });
        const dataKey = newDataKey();
        // The challenge and the key read happen here, so the fault meets the operation itself.
        const wrapped = await provider.wrapDataKey(dataKey, 'dk-1');
        vault.failNext(fault, { operation });
        const before = vault.calls[operation];
        const error = await failure(() =>
          operation === 'wrapKey'
            ? provider.wrapDataKey(dataKey, 'dk-1')
            : provider.unwrapDataKey(wrapped, 'dk-1'),
        );
        expect(error).toBeInstanceOf(expected);
        // The SDK does not retry: nest-kms's keyring does, with backoff.
        expect(vault.calls[operation] - before).toBe(1);
        // A transient fault leaves the provider working.
        expect((await provider.unwrapDataKey(wrapped, 'dk-1')).equals(dataKey)).toBe(true);
      },
    );

    it('a call aborted through its signal => MasterKeyUnavailableError', async () => {
      const provider = providerFor(rsaKeyId, { requestTimeoutMs: 10_000 });
      await provider.wrapDataKey(newDataKey(), 'dk-1');
      vault.failNext({ delayMs: 5_000 }, { operation: 'wrapKey' });
      const error = await failure(() =>
        provider.wrapDataKey(newDataKey(), 'dk-1', { signal: AbortSignal.timeout(50) }),
      );
      expect(error).toBeInstanceOf(MasterKeyUnavailableError);
      expect((error as MasterKeyUnavailableError).reason).toMatch(/aborted/);
    });

    it('a wrong token => MasterKeyProviderError (access denied)', async () => {
      const provider = providerFor(rsaKeyId, {
        credential: vault.credential('not-the-vault-token'),
      });
      const refusedBefore = vault.refusedTokens;
      const error = await failure(() => provider.wrapDataKey(newDataKey(), 'dk-1'));
      expect(error).toBeInstanceOf(MasterKeyProviderError);
      expect((error as MasterKeyProviderError).reason).toMatch(/access denied \(HTTP 401/);
      expect(vault.refusedTokens).toBeGreaterThan(refusedBefore);
    });

    it('a key that does not exist => MasterKeyProviderError (key not found)', async () => {
      const missing = rsaKeyId.replace('nest-kms-master', 'no-such-key');
      const error = await failure(() => providerFor(missing).wrapDataKey(newDataKey(), 'dk-1'));
      expect(error).toBeInstanceOf(MasterKeyProviderError);
      expect((error as MasterKeyProviderError).reason).toMatch(/key not found/);
    });

    it('a key read that describes another key => MasterKeyProviderError, for every later call', async () => {
      const provider = providerFor(rsaKeyId);
      vault.failNext({ otherKid: true }, { operation: 'getKey' });
      expect(await failure(() => provider.wrapDataKey(newDataKey(), 'dk-1'))).toBeInstanceOf(
        MasterKeyProviderError,
      );
      expect(await failure(() => provider.wrapDataKey(newDataKey(), 'dk-1'))).toBeInstanceOf(
        MasterKeyProviderError,
      );
    });

    it('an expired key => MasterKeyProviderError', async () => {
      const expired = vault.addRsaKey('expired-master', { expired: true });
      const error = await failure(() => providerFor(expired).wrapDataKey(newDataKey(), 'dk-1'));
      expect(error).toBeInstanceOf(MasterKeyProviderError);
      expect((error as MasterKeyProviderError).reason).toMatch(/expired/);
    });

    it.each([
      [
        'the identity service failing (503)',
        new AuthenticationError(503, {
          error: 'temporarily_unavailable',
          error_description: 'try later',
        }),
        MasterKeyUnavailableError,
      ],
      [
        'the identity service refusing (400)',
        new AuthenticationError(400, { error: 'invalid_client', error_description: 'bad secret' }),
        MasterKeyProviderError,
      ],
      [
        'no credential configured',
        new CredentialUnavailableError('nothing configured'),
        MasterKeyProviderError,
      ],
    ])('a token request failing with %s => its typed error', async (_, thrown, expected) => {
      const provider = providerFor(rsaKeyId, {
        credential: { getToken: () => Promise.reject(thrown) },
      });
      expect(await failure(() => provider.wrapDataKey(newDataKey(), 'dk-1'))).toBeInstanceOf(
        expected,
      );
    });

    it('a key of the wrong type for the algorithm => MasterKeyProviderError', async () => {
      const rsaAsAes = await failure(() =>
        providerFor(rsaKeyId, { algorithm: 'A256KW' }).wrapDataKey(newDataKey(), 'dk-1'),
      );
      expect(rsaAsAes).toBeInstanceOf(MasterKeyProviderError);
      expect((rsaAsAes as MasterKeyProviderError).reason).toMatch(/the key is RSA/);
      const aesAsRsa = await failure(() =>
        providerFor(aesKeyId, { algorithm: 'RSA-OAEP-256' }).wrapDataKey(newDataKey(), 'dk-1'),
      );
      expect(aesAsRsa).toBeInstanceOf(MasterKeyProviderError);
      expect((aesAsRsa as MasterKeyProviderError).reason).toMatch(/the key is oct-HSM/);
    });

    it('a vault whose certificate is not trusted => MasterKeyProviderError', async () => {
      const provider = providerFor(rsaKeyId, {
        clientOptions: { disableChallengeResourceVerification: true },
      });
      const error = await failure(() => provider.wrapDataKey(newDataKey(), 'dk-1'));
      expect(error).toBeInstanceOf(MasterKeyProviderError);
      expect((error as MasterKeyProviderError).reason).toMatch(/connection failed/);
    });

    it('a challenge for another resource than the vault => MasterKeyProviderError', async () => {
      // Verification stays on unless turned off: the double's challenge names vault.azure.net.
      const provider = providerFor(rsaKeyId, {
        clientOptions: { tlsOptions: { ca: vault.caCertificate } },
      });
      const error = await failure(() => provider.wrapDataKey(newDataKey(), 'dk-1'));
      expect(error).toBeInstanceOf(MasterKeyProviderError);
      expect((error as MasterKeyProviderError).reason).toMatch(/challenge/);
    });

    it('a refused connection => MasterKeyUnavailableError', async () => {
      const port = await closedPort();
      const provider = providerFor(keyIdAt(port));
      const error = await failure(() => provider.wrapDataKey(newDataKey(), 'dk-1'));
      expect(error).toBeInstanceOf(MasterKeyUnavailableError);
      expect((error as MasterKeyUnavailableError).reason).toMatch(/ECONNREFUSED/);
    });

    it('a connection that never completes => MasterKeyUnavailableError after the connect timeout', async () => {
      const silent = await silentServer();
      try {
        const provider = providerFor(keyIdAt(silent.port), {
          connectTimeoutMs: 200,
          requestTimeoutMs: 20_000,
        });
        const error = await failure(() => provider.wrapDataKey(newDataKey(), 'dk-1'));
        expect(error).toBeInstanceOf(MasterKeyUnavailableError);
        expect((error as MasterKeyUnavailableError).reason).toMatch(/connecting timed out/);
      } finally {
        await silent.close();
      }
    });
  });

  describe('masterKeyFromEnvironment', () => {
    const keyId = 'https://example.vault.azure.net/keys/master/0123456789abcdef0123456789abcdef';

    it('builds the provider from KMS_AZURE_KEY_VAULT_* variables', async () => {
      const provider = masterKeyFromEnvironment({
        KMS_AZURE_KEY_VAULT_KEY_ID: keyId,
        KMS_AZURE_KEY_VAULT_ALGORITHM: 'A256KW',
        KMS_AZURE_KEY_VAULT_CONNECT_TIMEOUT_MS: '500',
        KMS_AZURE_KEY_VAULT_REQUEST_TIMEOUT_MS: '2000',
      }) as AzureKeyVaultMasterKeyProvider;
      providers.push(provider);
      expect(provider.name).toBe('azure-key-vault');
      expect(provider.algorithm).toBe('A256KW');
      expect(await provider.fingerprint()).toBe(
        'azure-key-vault:example.vault.azure.net/keys/master/0123456789abcdef0123456789abcdef',
      );
      const byDefault = masterKeyFromEnvironment({ KMS_AZURE_KEY_VAULT_KEY_ID: keyId });
      providers.push(byDefault as AzureKeyVaultMasterKeyProvider);
      expect((byDefault as AzureKeyVaultMasterKeyProvider).algorithm).toBe('RSA-OAEP-256');
    });

    it.each([
      [{}, 'KMS_AZURE_KEY_VAULT_KEY_ID'],
      [
        { KMS_AZURE_KEY_VAULT_KEY_ID: 'https://example.vault.azure.net/keys/master' },
        'KMS_AZURE_KEY_VAULT_KEY_ID',
      ],
      [
        { KMS_AZURE_KEY_VAULT_KEY_ID: keyId, KMS_AZURE_KEY_VAULT_ALGORITHM: 'RSA1_5' },
        'KMS_AZURE_KEY_VAULT_ALGORITHM',
      ],
      [
        { KMS_AZURE_KEY_VAULT_KEY_ID: keyId, KMS_AZURE_KEY_VAULT_CONNECT_TIMEOUT_MS: '0' },
        'KMS_AZURE_KEY_VAULT_CONNECT_TIMEOUT_MS',
      ],
      [
        { KMS_AZURE_KEY_VAULT_KEY_ID: keyId, KMS_AZURE_KEY_VAULT_REQUEST_TIMEOUT_MS: 'soon' },
        'KMS_AZURE_KEY_VAULT_REQUEST_TIMEOUT_MS',
      ],
    ])('refuses %j, naming %s', (env, variable) => {
      let thrown: unknown;
      try {
        masterKeyFromEnvironment(env);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(KmsConfigurationError);
      expect((thrown as Error).message).toContain(variable);
    });
  });

  for (const engine of ENGINES) {
    describe(`KmsModule on ${engine}`, () => {
      it('encrypts, restarts with a new provider, decrypts; no vault call on the hot path', async () => {
        const db = await createTestDatabase(engine);
        try {
          const first = await KmsFixture.register('forRoot', {
            masterKey: providerFor(rsaKeyId),
            connection: db.connection,
          });
          const afterStart = { ...vault.calls };
          expect(afterStart.wrapKey).toBeGreaterThan(0);
          const sealed: string[] = [];
          for (let i = 0; i < 20; i++) {
            sealed.push(await first.kms.encryptToString(`secret ${i}`));
            expect(await first.kms.decryptData(sealed[i]!)).toBe(`secret ${i}`);
          }
          expect(vault.calls).toEqual(afterStart);
          await first.close();

          const second = await KmsFixture.register('forRoot', {
            masterKey: providerFor(rsaKeyId),
            connection: db.connection,
          });
          try {
            const afterRestart = { ...vault.calls };
            expect(afterRestart.unwrapKey).toBeGreaterThan(afterStart.unwrapKey);
            for (let i = 0; i < sealed.length; i++) {
              expect(await second.kms.decryptData(sealed[i]!)).toBe(`secret ${i}`);
            }
            expect(vault.calls).toEqual(afterRestart);
          } finally {
            await second.close();
          }
        } finally {
          await db.drop();
        }
      });

      it('moves to a new vault key as a master-key rotation; an outage fails typed', async () => {
        const db = await createTestDatabase(engine);
        try {
          const app = await KmsFixture.register('forRoot', {
            masterKey: providerFor(rsaKeyId),
            connection: db.connection,
          });
          const sealed = await app.kms.encryptToString('kept across the rotation');
          try {
            const rotation = await app.kms.rotateMasterKey(providerFor(aesKeyId));
            expect(rotation.to).toBe(await providerFor(aesKeyId).fingerprint());
            vault.failNext(
              { status: 503, code: 'ServiceUnavailable' },
              { times: 20, operation: 'wrapKey' },
            );
            errors.push(await caught(() => app.kms.rotateDataKey('outage')));
            expect(errors.at(-1)).toBeInstanceOf(MasterKeyUnavailableError);
            vault.clearFaults();
          } finally {
            await app.close();
          }
          const restarted = await KmsFixture.register('forRoot', {
            masterKey: providerFor(aesKeyId),
            connection: db.connection,
          });
          try {
            expect(await restarted.kms.decryptData(sealed)).toBe('kept across the rotation');
          } finally {
            await restarted.close();
          }
        } finally {
          await db.drop();
        }
      });
    });
  }

  it('leaves the bearer token and the data keys out of every log line and error', () => {
    const texts = [
      CapturedLogger.allText(),
      ...errors.map((error) => `${error.message}\n${error.stack ?? ''}\n${JSON.stringify(error)}`),
    ];
    expect(errors.length).toBeGreaterThan(10);
    for (const text of texts) {
      expect(text).not.toContain(vault.token);
      for (const key of dataKeys) {
        expect(text).not.toContain(key.toString('hex'));
        expect(text).not.toContain(key.toString('base64'));
        expect(text).not.toContain(key.toString('base64url'));
      }
    }
  });

  function keyIdAt(port: number): string {
    return `https://localhost:${port}/keys/nest-kms-master/0123456789abcdef0123456789abcdef`;
  }
});

/** A port nothing listens on (a server bound it, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A TCP server that accepts connections and never says a word (no TLS handshake). */
async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
