import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local test double of AWS KMS as its JSON 1.1 protocol is documented: POST / with
 * `X-Amz-Target: TrentService.<Operation>`, `Content-Type: application/x-amz-json-1.1`, blobs as
 * base64, errors as status 400 (500 for internal ones) with `x-amzn-ErrorType` and a body
 * `{"__type": "...Exception", "message": "..."}`. It serves Encrypt, Decrypt and DescribeKey for
 * a few AES-256 keys held in memory, in the Region named by the request's SigV4 credential scope
 * (the signature itself is not verified). Its ciphertexts are its own format, binding the key
 * and the encryption context; a multi-Region key's replicas share their key material.
 */
export class FakeAwsKms {
  static readonly ACCOUNT = '111122223333';
  static readonly PRIMARY_REGION = 'us-east-1';
  static readonly REPLICA_REGION = 'us-west-2';

  /** Calls received, by operation (faulted ones included). */
  readonly calls: Record<string, number> = {};
  /** Every request received, in order. */
  readonly requests: FakeKmsRequest[] = [];
  /** Access key ids whose requests are accepted; others get UnrecognizedClientException. */
  readonly accessKeyIds = new Set(['AKIATEST']);

  private readonly keys: FakeKmsKey[] = [];
  private readonly aliases = new Map<string, string>();
  private readonly faults: { fault: FakeKmsFault; remaining: number }[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(
    private readonly server: Server,
    /** The double's URL, for the client's `endpoint`. */
    readonly endpoint: string,
    /** A symmetric key in the primary Region, alias `alias/nest-kms-test`. */
    readonly keyArn: string,
    /** Another symmetric key in the primary Region. */
    readonly otherKeyArn: string,
    /** A multi-Region key's id (`mrk-...`), in both Regions. */
    readonly mrkId: string,
  ) {}

  /** Starts a double on 127.0.0.1 at a free port. */
  static async start(): Promise<FakeAwsKms> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const mrkId = `mrk-${randomBytes(16).toString('hex')}`;
    const fake = new FakeAwsKms(
      server,
      `http://127.0.0.1:${port}`,
      keyArnOf(FakeAwsKms.PRIMARY_REGION, randomUUID()),
      keyArnOf(FakeAwsKms.PRIMARY_REGION, randomUUID()),
      mrkId,
    );
    fake.addKey({ arn: fake.keyArn, alias: 'alias/nest-kms-test' });
    fake.addKey({ arn: fake.otherKeyArn });
    const material = randomBytes(32);
    fake.addKey({ arn: keyArnOf(FakeAwsKms.PRIMARY_REGION, mrkId), material });
    fake.addKey({ arn: keyArnOf(FakeAwsKms.REPLICA_REGION, mrkId), material });
    server.on('request', (req, res) => {
      // A client that gave up mid-request leaves nothing to answer.
      fake.handle(req, res).catch(() => res.destroy());
    });
    return fake;
  }

  /** The multi-Region key's ARN in `region`. */
  mrkArn(region: string): string {
    return keyArnOf(region, this.mrkId);
  }

  /** Adds a key (by default a new enabled symmetric key in the primary Region); returns its ARN. */
  addKey(key: Partial<FakeKmsKey> & { alias?: string }): string {
    const arn = key.arn ?? keyArnOf(FakeAwsKms.PRIMARY_REGION, randomUUID());
    this.keys.push({
      arn,
      material: key.material ?? randomBytes(32),
      keySpec: key.keySpec ?? 'SYMMETRIC_DEFAULT',
      keyUsage: key.keyUsage ?? 'ENCRYPT_DECRYPT',
      keyState: key.keyState ?? 'Enabled',
    });
    if (key.alias !== undefined) this.aliases.set(`${regionOf(arn)}/${key.alias}`, arn);
    return arn;
  }

  /** Disables, enables or schedules for deletion the key `arn`, as its owner would. */
  setKeyState(arn: string, keyState: FakeKmsKey['keyState']): void {
    const at = this.keys.findIndex((key) => key.arn === arn);
    if (at < 0) throw new Error(`no key ${arn}`);
    this.keys[at] = { ...this.keys[at], keyState };
  }

  /** The next `times` requests, whatever their operation, meet `fault`. */
  inject(fault: FakeKmsFault, times = 1): void {
    this.faults.push({ fault, remaining: times });
  }

  /** Encrypt and Decrypt calls so far: the provider calls that hold a data key. */
  keyCalls(): number {
    return (this.calls.Encrypt ?? 0) + (this.calls.Decrypt ?? 0);
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const target = String(req.headers['x-amz-target'] ?? '');
    const operation = target.startsWith('TrentService.') ? target.slice(13) : target;
    const authorization = req.headers.authorization;
    this.calls[operation] = (this.calls[operation] ?? 0) + 1;
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
    } catch {
      return send(res, failure(400, 'SerializationException', 'Malformed JSON body'));
    }
    this.requests.push({ operation, authorization, body });

    const fault = this.takeFault();
    if (fault?.kind === 'drop') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'latency') {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          resolve();
        }, fault.ms);
        this.timers.add(timer);
      });
      if (res.destroyed) return;
    }
    if (fault?.kind === 'error') return send(res, failure(fault.status, fault.type, fault.message));
    if (fault?.kind === 'status') {
      res.writeHead(fault.status, { 'content-type': 'text/html' }).end('<html>unavailable</html>');
      return;
    }

    const answer = this.answer(operation, authorization, body);
    if (fault?.kind === 'answer-for-another-key' && answer.status === 200) {
      answer.body.KeyId = this.otherKeyArn;
    }
    send(res, answer);
  }

  private takeFault(): FakeKmsFault | undefined {
    const head = this.faults[0];
    if (head === undefined) return undefined;
    if (--head.remaining <= 0) this.faults.shift();
    return head.fault;
  }

  private answer(
    operation: string,
    authorization: string | undefined,
    body: Record<string, unknown>,
  ): Answer {
    if (authorization === undefined) {
      return failure(400, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
    }
    const scope = SIGV4.exec(authorization);
    if (scope === null) {
      return failure(400, 'IncompleteSignatureException', 'Authorization header is not SigV4');
    }
    if (!this.accessKeyIds.has(scope[1])) {
      return failure(
        400,
        'UnrecognizedClientException',
        'The security token included in the request is invalid.',
      );
    }
    const region = scope[2];
    switch (operation) {
      case 'DescribeKey':
        return this.describeKey(region, body);
      case 'Encrypt':
        return this.encrypt(region, body);
      case 'Decrypt':
        return this.decrypt(region, body);
      default:
        return failure(
          400,
          'UnknownOperationException',
          `${operation} is not served by the double`,
        );
    }
  }

  private describeKey(region: string, body: Record<string, unknown>): Answer {
    const key = this.find(region, body.KeyId);
    if (key === undefined) return notFound(body.KeyId);
    const keyId = key.arn.slice(key.arn.indexOf(':key/') + 5);
    const multiRegion = keyId.startsWith('mrk-');
    return ok({
      KeyMetadata: {
        AWSAccountId: FakeAwsKms.ACCOUNT,
        KeyId: keyId,
        Arn: key.arn,
        CreationDate: 1_700_000_000,
        Enabled: key.keyState === 'Enabled',
        KeyState: key.keyState,
        KeyUsage: key.keyUsage,
        KeySpec: key.keySpec,
        CustomerMasterKeySpec: key.keySpec,
        EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
        Origin: 'AWS_KMS',
        KeyManager: 'CUSTOMER',
        MultiRegion: multiRegion,
      },
    });
  }

  private encrypt(region: string, body: Record<string, unknown>): Answer {
    const key = this.find(region, body.KeyId);
    if (key === undefined) return notFound(body.KeyId);
    const refusal = usable(key);
    if (refusal !== undefined) return refusal;
    const plaintext = Buffer.from(String(body.Plaintext ?? ''), 'base64');
    if (plaintext.length === 0 || plaintext.length > 4096) {
      return failure(400, 'ValidationException', 'Plaintext must be 1 to 4096 bytes');
    }
    const ref = Buffer.from(key.arn.slice(key.arn.indexOf(':key/') + 5), 'utf8');
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key.material, iv);
    cipher.setAAD(aadOf(ref, body.EncryptionContext));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    const blob = Buffer.concat([
      Buffer.of(BLOB_VERSION, ref.length),
      ref,
      iv,
      cipher.getAuthTag(),
      ciphertext,
    ]);
    return ok({
      CiphertextBlob: blob.toString('base64'),
      KeyId: key.arn,
      EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
    });
  }

  private decrypt(region: string, body: Record<string, unknown>): Answer {
    const blob = Buffer.from(String(body.CiphertextBlob ?? ''), 'base64');
    const refLength = blob[1] ?? 0;
    if (blob[0] !== BLOB_VERSION || blob.length < 2 + refLength + 12 + 16 + 1) {
      return failure(400, 'InvalidCiphertextException', '');
    }
    const ref = blob.subarray(2, 2 + refLength);
    const owner = this.keys.find(
      (key) => regionOf(key.arn) === region && key.arn.endsWith(`:key/${ref.toString('utf8')}`),
    );
    let key = owner;
    if (body.KeyId !== undefined) {
      key = this.find(region, body.KeyId);
      if (key === undefined) return notFound(body.KeyId);
      if (key !== owner) {
        return failure(
          400,
          'IncorrectKeyException',
          'The key ID in the request does not identify a KMS key that can perform this operation.',
        );
      }
    }
    if (key === undefined) return failure(400, 'InvalidCiphertextException', '');
    const refusal = usable(key);
    if (refusal !== undefined) return refusal;
    const at = 2 + refLength;
    try {
      const decipher = createDecipheriv('aes-256-gcm', key.material, blob.subarray(at, at + 12));
      decipher.setAAD(aadOf(ref, body.EncryptionContext));
      decipher.setAuthTag(blob.subarray(at + 12, at + 28));
      const plaintext = Buffer.concat([decipher.update(blob.subarray(at + 28)), decipher.final()]);
      return ok({
        KeyId: key.arn,
        Plaintext: plaintext.toString('base64'),
        EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      });
    } catch {
      return failure(400, 'InvalidCiphertextException', '');
    }
  }

  /** The key `keyId` names in `region`: key id, key ARN, alias name or alias ARN. */
  private find(region: string, keyId: unknown): FakeKmsKey | undefined {
    if (typeof keyId !== 'string') return undefined;
    const aliasArn = /^arn:aws:kms:([a-z0-9-]+):\d{12}:(alias\/.+)$/.exec(keyId);
    if (aliasArn !== null) {
      return aliasArn[1] === region ? this.find(region, aliasArn[2]) : undefined;
    }
    if (keyId.startsWith('alias/')) {
      const arn = this.aliases.get(`${region}/${keyId}`);
      return arn === undefined ? undefined : this.find(region, arn);
    }
    return this.keys.find(
      (key) =>
        regionOf(key.arn) === region && (key.arn === keyId || key.arn.endsWith(`:key/${keyId}`)),
    );
  }
}

/** A key the double holds. */
export interface FakeKmsKey {
  readonly arn: string;
  readonly material: Buffer;
  readonly keySpec: string;
  readonly keyUsage: string;
  readonly keyState: 'Enabled' | 'Disabled' | 'PendingDeletion';
}

/** A request as the double received it. */
export interface FakeKmsRequest {
  readonly operation: string;
  readonly authorization: string | undefined;
  readonly body: Record<string, unknown>;
}

/**
 * What the next requests meet instead of a normal answer: an AWS error, a bare HTTP status (as
 * a load balancer sends), a delay before the normal answer, a dropped connection, or a normal
 * answer that names another key.
 */
export type FakeKmsFault =
  | {
      readonly kind: 'error';
      readonly status: number;
      readonly type: string;
      readonly message: string;
    }
  | { readonly kind: 'status'; readonly status: number }
  | { readonly kind: 'latency'; readonly ms: number }
  | { readonly kind: 'drop' }
  | { readonly kind: 'answer-for-another-key' };

/** The AWS errors the suites inject, as KMS sends them. */
export const KMS_FAULTS = {
  throttling: { kind: 'error', status: 400, type: 'ThrottlingException', message: 'Rate exceeded' },
  internal: { kind: 'error', status: 500, type: 'KMSInternalException', message: 'Internal error' },
  accessDenied: {
    kind: 'error',
    status: 400,
    type: 'AccessDeniedException',
    message: `User: arn:aws:iam::${FakeAwsKms.ACCOUNT}:user/app is not authorized to perform: kms:Decrypt`,
  },
  disabled: {
    kind: 'error',
    status: 400,
    type: 'DisabledException',
    message: 'The key is disabled.',
  },
} as const satisfies Record<string, FakeKmsFault>;

interface Answer {
  status: number;
  errorType?: string;
  body: Record<string, unknown>;
}

const BLOB_VERSION = 0x01;
// AWS4-HMAC-SHA256 Credential=<access key id>/<date>/<region>/kms/aws4_request, SignedHeaders=..., Signature=<hex>
const SIGV4 =
  /^AWS4-HMAC-SHA256 Credential=([A-Z0-9]+)\/\d{8}\/([a-z0-9-]+)\/kms\/aws4_request, ?SignedHeaders=[a-z0-9;-]+, ?Signature=[0-9a-f]{64}$/;

function keyArnOf(region: string, keyId: string): string {
  return `arn:aws:kms:${region}:${FakeAwsKms.ACCOUNT}:key/${keyId}`;
}

function regionOf(arn: string): string {
  return arn.split(':')[3];
}

/** Binds the ciphertext to its key and to the encryption context, in a canonical order. */
function aadOf(ref: Buffer, context: unknown): Buffer {
  const entries = Object.entries((context ?? {}) as Record<string, string>).sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0,
  );
  return Buffer.concat([ref, Buffer.of(0), Buffer.from(JSON.stringify(entries), 'utf8')]);
}

function usable(key: FakeKmsKey): Answer | undefined {
  if (key.keyState === 'Disabled')
    return failure(400, 'DisabledException', `${key.arn} is disabled.`);
  if (key.keyState === 'PendingDeletion') {
    return failure(400, 'KMSInvalidStateException', `${key.arn} is pending deletion.`);
  }
  if (key.keyUsage !== 'ENCRYPT_DECRYPT') {
    return failure(400, 'InvalidKeyUsageException', `${key.arn} is not for ENCRYPT_DECRYPT.`);
  }
  return undefined;
}

function ok(body: Record<string, unknown>): Answer {
  return { status: 200, body };
}

function failure(status: number, type: string, message: string): Answer {
  return { status, errorType: type, body: { __type: type, message } };
}

function notFound(keyId: unknown): Answer {
  return failure(400, 'NotFoundException', `Key '${String(keyId)}' does not exist`);
}

function send(res: ServerResponse, answer: Answer): void {
  const headers: Record<string, string> = { 'content-type': 'application/x-amz-json-1.1' };
  if (answer.errorType !== undefined) headers['x-amzn-errortype'] = answer.errorType;
  res.writeHead(answer.status, headers).end(JSON.stringify(answer.body));
}
