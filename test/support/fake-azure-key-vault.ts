import { execFileSync } from 'node:child_process';
import {
  constants,
  createCipheriv,
  createDecipheriv,
  generateKeyPairSync,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AccessToken, TokenCredential } from '@azure/identity';
import type { CryptographyClientOptions } from '@azure/keyvault-keys';

/** The operations the double serves and counts. */
export type FakeVaultOperation = 'getKey' | 'wrapKey' | 'unwrapKey';

/** What the double does instead of answering an authenticated request. */
export type FakeVaultFault =
  | {
      readonly status: number;
      readonly code?: string;
      readonly innerCode?: string;
      readonly retryAfterSeconds?: number;
    }
  | { readonly delayMs: number }
  | { readonly drop: true }
  | { readonly otherKid: true };

/** A TokenCredential that hands out one fixed token and records the scopes it was asked for. */
export interface FixedTokenCredential extends TokenCredential {
  readonly scopes: string[];
}

interface FakeKey {
  readonly kid: string;
  readonly expired?: boolean;
  readonly kty: 'RSA' | 'oct-HSM';
  readonly rsa?: { readonly publicKey: KeyObject; readonly privateKey: KeyObject };
  readonly aes?: Buffer;
}

// RFC 3394's default initial value: what `id-aes256-wrap` (A256KW) uses.
const AES_KEY_WRAP_IV = Buffer.from('A6A6A6A6A6A6A6A6', 'hex');
const OAEP_SHA256 = { padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' };

/** Whether the `openssl` command line the double's test CA is made with is installed. */
export function opensslAvailable(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * A local HTTPS double of the documented Key Vault keys REST API (the api-version the client
 * sends is accepted and recorded): the bearer challenge (401 with WWW-Authenticate, then
 * `Authorization: Bearer <token>`), GET /keys/{name}/{version}, and POST …/wrapkey and
 * …/unwrapkey with `{ alg, value }` (base64url) answered `{ kid, value }`. RSA-OAEP-256 runs on an
 * RSA key pair it holds, A256KW on an AES key (an oct-HSM key, as Managed HSM has). Its TLS
 * certificate, for `localhost`, is signed by a CA made at start with openssl in a temporary
 * directory that is removed at once. Faults can be injected for the next authenticated requests.
 */
export class FakeAzureKeyVault {
  /** The bearer token the double accepts. */
  readonly token = `fake-vault-token-${randomBytes(16).toString('hex')}`;
  /** Authenticated requests per operation (a request failed by a fault counts too). */
  readonly calls: Record<FakeVaultOperation, number> = { getKey: 0, wrapKey: 0, unwrapKey: 0 };
  /** Requests that came without a token and were answered with the challenge. */
  challenges = 0;
  /** Requests whose token was not the double's. */
  refusedTokens = 0;
  /** The api-version query values clients sent. */
  readonly apiVersions = new Set<string>();
  private readonly keys = new Map<string, FakeKey>();
  private readonly faults: { fault: FakeVaultFault; operation?: FakeVaultOperation }[] = [];
  private readonly held = new Set<NodeJS.Timeout>();

  private constructor(
    private readonly server: Server,
    /** PEM of the CA that signed the double's certificate. */
    readonly caCertificate: string,
  ) {}

  /** Starts the double on 127.0.0.1 on a free port. */
  static async start(): Promise<FakeAzureKeyVault> {
    const tls = testCertificates();
    let vault: FakeAzureKeyVault | undefined;
    const server = createServer({ key: tls.serverKey, cert: tls.serverCertificate }, (req, res) => {
      vault!.handle(req, res).catch(() => res.destroy());
    });
    vault = new FakeAzureKeyVault(server, tls.caCertificate);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return vault;
  }

  /** `https://localhost:<port>`: the vault URL keys are named under. */
  get url(): string {
    return `https://localhost:${(this.server.address() as AddressInfo).port}`;
  }

  /** Adds an RSA key (2048 bits) and returns its key version URL; `expired` dates its `exp` an hour ago. */
  addRsaKey(name: string, options: { expired?: boolean } = {}): string {
    const kid = this.newKid(name);
    this.keys.set(new URL(kid).pathname, {
      kid,
      expired: options.expired,
      kty: 'RSA',
      rsa: generateKeyPairSync('rsa', { modulusLength: 2048 }),
    });
    return kid;
  }

  /** Adds a 256-bit AES key (oct-HSM) and returns its key version URL. */
  addAesKey(name: string): string {
    const kid = this.newKid(name);
    this.keys.set(new URL(kid).pathname, { kid, kty: 'oct-HSM', aes: randomBytes(32) });
    return kid;
  }

  /** A credential with `token` (by default the one the double accepts). */
  credential(token = this.token): FixedTokenCredential {
    const scopes: string[] = [];
    return {
      scopes,
      getToken: (requested: string | string[]): Promise<AccessToken> => {
        scopes.push(...[requested].flat());
        return Promise.resolve({ token, expiresOnTimestamp: Date.now() + 3_600_000 });
      },
    };
  }

  /**
   * What a client needs to reach the double: its CA trusted, and challenge resource verification
   * off (the challenge names vault.azure.net, which `localhost` is not under).
   */
  clientOptions(): CryptographyClientOptions {
    return { tlsOptions: { ca: this.caCertificate }, disableChallengeResourceVerification: true };
  }

  /** The next `times` authenticated requests (of `operation`, when given) meet `fault`. */
  failNext(
    fault: FakeVaultFault,
    options: { times?: number; operation?: FakeVaultOperation } = {},
  ): void {
    for (let i = 0; i < (options.times ?? 1); i++) {
      this.faults.push({ fault, operation: options.operation });
    }
  }

  /** Drops faults not yet met. */
  clearFaults(): void {
    this.faults.length = 0;
  }

  async close(): Promise<void> {
    for (const timer of this.held) clearTimeout(timer);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private newKid(name: string): string {
    return `${this.url}/keys/${name}/${randomBytes(16).toString('hex')}`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await bodyOf(req);
    const url = new URL(req.url ?? '/', this.url);
    const apiVersion = url.searchParams.get('api-version');
    if (apiVersion !== null) this.apiVersions.add(apiVersion);
    const authorization = req.headers.authorization;
    if (authorization !== `Bearer ${this.token}`) {
      if (authorization === undefined) this.challenges++;
      else this.refusedTokens++;
      res.setHeader(
        'WWW-Authenticate',
        'Bearer authorization="https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000", resource="https://vault.azure.net"',
      );
      return answer(
        res,
        401,
        failure('Unauthorized', 'AKV10000: Request is missing a Bearer or PoP token.'),
      );
    }
    const path = /^(\/keys\/[^/]+\/[^/]+)(?:\/(wrapkey|unwrapkey))?$/.exec(url.pathname);
    const operation: FakeVaultOperation | undefined =
      path === null
        ? undefined
        : path[2] === 'wrapkey' && req.method === 'POST'
          ? 'wrapKey'
          : path[2] === 'unwrapkey' && req.method === 'POST'
            ? 'unwrapKey'
            : path[2] === undefined && req.method === 'GET'
              ? 'getKey'
              : undefined;
    if (operation === undefined || apiVersion === null) {
      return answer(res, 400, failure('BadParameter', 'Unsupported request.'));
    }
    this.calls[operation]++;
    const at = this.faults.findIndex((entry) => (entry.operation ?? operation) === operation);
    const fault = at === -1 ? undefined : this.faults.splice(at, 1)[0]!.fault;
    if (fault !== undefined && 'drop' in fault) return void req.socket.destroy();
    if (fault !== undefined && 'delayMs' in fault) await this.hold(fault.delayMs);
    if (fault !== undefined && 'status' in fault) {
      if (fault.retryAfterSeconds !== undefined) {
        res.setHeader('Retry-After', String(fault.retryAfterSeconds));
      }
      return answer(
        res,
        fault.status,
        failure(fault.code ?? 'Injected', 'Injected fault.', fault.innerCode),
      );
    }
    const key = this.keys.get(path![1]!);
    if (key === undefined) {
      return answer(
        res,
        404,
        failure('KeyNotFound', 'A key with (name/id) was not found in this key vault.'),
      );
    }
    const kid = fault !== undefined && 'otherKid' in fault ? this.newKid('someone-else') : key.kid;
    if (operation === 'getKey') return answer(res, 200, keyBundleOf(key, kid));
    const { alg, value } = JSON.parse(body) as { alg?: string; value?: string };
    const input = Buffer.from(value ?? '', 'base64url');
    const algorithmFits =
      (key.kty === 'RSA' && alg === 'RSA-OAEP-256') || (key.kty === 'oct-HSM' && alg === 'A256KW');
    if (!algorithmFits) {
      return answer(
        res,
        400,
        failure('BadParameter', `Algorithm ${String(alg)} is not supported for this key.`),
      );
    }
    try {
      const output = operation === 'wrapKey' ? wrap(key, input) : unwrap(key, input);
      return answer(res, 200, { kid, value: output.toString('base64url') });
    } catch {
      return answer(
        res,
        400,
        failure('BadParameter', 'Error occurred while decoding OAEP padding.'),
      );
    }
  }

  private hold(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.held.delete(timer);
        resolve();
      }, ms);
      this.held.add(timer);
    });
  }
}

function wrap(key: FakeKey, input: Buffer): Buffer {
  if (key.rsa) return publicEncrypt({ key: key.rsa.publicKey, ...OAEP_SHA256 }, input);
  const cipher = createCipheriv('id-aes256-wrap', key.aes!, AES_KEY_WRAP_IV);
  return Buffer.concat([cipher.update(input), cipher.final()]);
}

function unwrap(key: FakeKey, input: Buffer): Buffer {
  if (key.rsa) return privateDecrypt({ key: key.rsa.privateKey, ...OAEP_SHA256 }, input);
  const decipher = createDecipheriv('id-aes256-wrap', key.aes!, AES_KEY_WRAP_IV);
  return Buffer.concat([decipher.update(input), decipher.final()]);
}

function keyBundleOf(key: FakeKey, kid: string): object {
  const now = Math.floor(Date.now() / 1000);
  const publicPart = key.rsa ? key.rsa.publicKey.export({ format: 'jwk' }) : {};
  return {
    key: { kid, kty: key.kty, key_ops: ['wrapKey', 'unwrapKey'], n: publicPart.n, e: publicPart.e },
    attributes: {
      enabled: true,
      created: now - 7200,
      updated: now - 7200,
      ...(key.expired ? { exp: now - 3600 } : {}),
      recoveryLevel: 'Recoverable',
    },
  };
}

function failure(code: string, message: string, innerCode?: string): object {
  return { error: { code, message, ...(innerCode ? { innererror: { code: innerCode } } : {}) } };
}

function answer(res: ServerResponse, status: number, body: object): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

function bodyOf(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** A CA, and a certificate for localhost it signed, made with openssl; nothing stays on disk. */
function testCertificates(): {
  caCertificate: string;
  serverKey: string;
  serverCertificate: string;
} {
  const dir = mkdtempSync(join(tmpdir(), 'nest-kms-fake-vault-'));
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  try {
    openssl(
      'req',
      '-x509',
      ...ecKey,
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '1',
      '-subj',
      '/CN=nest-kms test CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign',
    );
    openssl(
      'req',
      '-new',
      ...ecKey,
      '-keyout',
      'server.key',
      '-out',
      'server.csr',
      '-subj',
      '/CN=localhost',
    );
    writeFileSync(
      join(dir, 'server.ext'),
      'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n',
    );
    openssl(
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'server.crt',
      '-days',
      '1',
      '-extfile',
      'server.ext',
    );
    return {
      caCertificate: readFileSync(join(dir, 'ca.crt'), 'utf8'),
      serverKey: readFileSync(join(dir, 'server.key'), 'utf8'),
      serverCertificate: readFileSync(join(dir, 'server.crt'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
