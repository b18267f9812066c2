import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import request, { type Response } from 'supertest';
import { createDemoApp } from '../apps/demo/src/demo-app.js';
import { CapturedLogger } from './support/captured-logger.js';
import {
  demoForSuite,
  rawExchange,
  uniqueName,
  type DemoCall,
  type DemoTestApp,
  type HttpMethod,
} from './support/demo-app.js';
import { DemoCallers } from './support/demo-callers.js';
import { DemoTranscript } from './support/demo-transcript.js';

const ADAPTERS = ['express', 'fastify'] as const;
type Adapter = (typeof ADAPTERS)[number];

/** What every answer carries on both platforms (helmet's defaults), refusals included. */
const SECURITY_HEADERS = [
  'content-security-policy',
  'cross-origin-opener-policy',
  'cross-origin-resource-policy',
  'origin-agent-cluster',
  'referrer-policy',
  'strict-transport-security',
  'x-content-type-options',
  'x-dns-prefetch-control',
  'x-download-options',
  'x-frame-options',
  'x-permitted-cross-domain-policies',
  'x-xss-protection',
];
/** Headers a client may act on, compared as well. */
const COMPARED_HEADERS = [...SECURITY_HEADERS, 'www-authenticate', 'cache-control'];

/** Values that differ from app to app by design: keys, tokens, envelopes, clocks. */
const VARYING_KEY = /^(envelope|token|id)$|(Id|Ms|Fingerprint)$/;
const ISO_DATE = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g;

function masked(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(masked);
  if (typeof value === 'string') return value.replace(ISO_DATE, '<date>');
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [
      key,
      VARYING_KEY.test(key) ? '<varies>' : masked(item),
    ]),
  );
}

/** For supertest's serialize(): a Buffer labelled JSON goes out as is, not JSON-encoded. */
const asSent = (body: Buffer): string => body as unknown as string;

/** What a user sees of an answer, without what varies by design. */
function seen(response: Response) {
  const contentType = String(response.headers['content-type'] ?? '');
  return {
    status: response.status,
    contentType,
    headers: Object.fromEntries(COMPARED_HEADERS.map((name) => [name, response.headers[name]])),
    body: contentType.startsWith('application/json') ? masked(response.body) : undefined,
  };
}

/**
 * The demo on Express and on Fastify (HTTP_ADAPTER) answers a user the same: a cross-section of
 * every demo suite (transit encryption with caller tokens, secrets and cached reads, status,
 * health, metrics, typed errors, hostile input, security headers, no value in the logs), each
 * request sent to both apps and the two answers compared, status, headers and body.
 */
describe('demo: the same answers on Express and Fastify', () => {
  const transcript = new DemoTranscript();
  const apps = Object.fromEntries(
    ADAPTERS.map((adapter) => {
      const demo = demoForSuite('sqlite', transcript, { HTTP_ADAPTER: adapter });
      return [adapter, { demo, callers: new DemoCallers(demo, transcript) }];
    }),
  ) as Record<Adapter, { demo: DemoTestApp; callers: DemoCallers }>;

  /** `send` on both apps; both answers must look the same to a user. Returns Express's. */
  async function same(
    send: (demo: DemoTestApp, callers: DemoCallers) => Promise<Response>,
  ): Promise<Response> {
    const express = await send(apps.express.demo, apps.express.callers);
    const fastify = await send(apps.fastify.demo, apps.fastify.callers);
    expect(seen(fastify)).toEqual(seen(express));
    return express;
  }

  const call = (method: HttpMethod, path: string, options: DemoCall = {}) =>
    same((demo) => demo.call(method, path, options));
  const asCaller = (method: HttpMethod, path: string, options: DemoCall = {}) =>
    same(async (demo, callers) =>
      demo.call(method, path, { ...options, token: await callers.token('caller-a') }),
    );

  it('starts each app on its platform, and refuses another', async () => {
    for (const adapter of ADAPTERS) {
      expect(apps[adapter].demo.app.getHttpAdapter().getType()).toBe(adapter);
    }
    await expect(createDemoApp({ env: { HTTP_ADAPTER: 'koa' } })).rejects.toMatchObject({
      code: 'DEMO_UNKNOWN_HTTP_ADAPTER',
      message: 'HTTP_ADAPTER must be express or fastify (got "koa")',
    });
  });

  describe('transit encryption with caller tokens', () => {
    it('encrypts 1 KiB and decrypts it for the same caller only', async () => {
      const plaintext = transcript.remember(`${transcript.value('plaintext')}${'p'.repeat(970)}`);
      for (const adapter of ADAPTERS) {
        const { demo, callers } = apps[adapter];
        const envelope = await callers.encrypt(plaintext);
        const opened = await callers.decrypt({ envelope });
        expect(opened.status).toBe(200);
        expect(opened.body).toEqual({ plaintext });
        const other = await callers.decrypt({ envelope }, 'caller-b');
        expect(other.status).toBe(422);
        expect(other.body.code).toBe('KMS_AAD_MISMATCH');
        expect(demo.app.getHttpAdapter().getType()).toBe(adapter);
      }
      const sealed = await asCaller('post', '/encrypt', { body: { plaintext } });
      expect(sealed.status).toBe(200);
      expect(sealed.body.envelope).toMatchObject({ v: expect.any(Number) });
    });

    it.each([
      ['no token', { token: null }],
      ['the admin token', {}],
      ['a forged caller token', { token: `dct1.caller-a.${'A'.repeat(43)}` }],
    ] as const)('answers 401 with a challenge to %s', async (_, options) => {
      const response = await call('post', '/encrypt', { ...options, body: { plaintext: 'x' } });
      expect(response.status).toBe(401);
      expect(response.body.code).toBe('UNAUTHORIZED');
      expect(response.headers['www-authenticate']).toMatch(/^Bearer /);
    });

    it('answers a tampered envelope with the library code', async () => {
      const response = await asCaller('post', '/decrypt', { body: { envelope: 'kms1.x' } });
      expect(response.status).toBe(400);
      expect(response.body.code).toBe('KMS_MALFORMED_ENVELOPE');
    });
  });

  describe('secrets', () => {
    const name = uniqueName('PARITY');
    const first = transcript.value('first');
    const second = transcript.value('second');

    it('stores, reads (cached), rotates, lists, deletes', async () => {
      const put = await call('put', `/secrets/${name}`, {
        body: { value: first, tags: { team: 'parity' }, description: 'on both platforms' },
      });
      expect(put.status).toBe(200);
      expect(put.body).toMatchObject({ name, currentVersion: 1, tags: { team: 'parity' } });
      for (let read = 0; read < 3; read++) {
        const got = await call('get', `/secrets/${name}`, { reveals: true });
        expect(got.body).toEqual({ name, version: null, value: first });
      }
      const rotated = await call('post', `/secrets/${name}/rotate`, { body: { value: second } });
      expect(rotated.body).toMatchObject({ currentVersion: 2 });
      const old = await call('get', `/secrets/${name}?version=1`, { reveals: true });
      expect(old.body).toEqual({ name, version: 1, value: first });
      const listed = await call('get', '/secrets?tag=team%3Dparity');
      expect(listed.body.nextCursor).toBeNull();
      expect(listed.body.secrets.map((secret: { name: string }) => secret.name)).toEqual([name]);
      expect((await call('delete', `/secrets/${name}`)).status).toBe(200);
      const gone = await call('get', `/secrets/${name}`);
      expect(gone.status).toBe(410);
      expect(gone.body.code).toBe('SECRET_DELETED');
    });

    it('takes a name with a slash as %2F, and the longest name', async () => {
      for (const secret of ['team/parity', `L${'n'.repeat(127)}`]) {
        const path = `/secrets/${encodeURIComponent(secret)}`;
        expect((await call('put', path, { body: { value: second } })).status).toBe(200);
        const got = await call('get', path, { reveals: true });
        expect(got.body).toEqual({ name: secret, version: null, value: second });
      }
    });

    it.each([
      ['a missing secret', 'get', '/secrets/NOPE', 404, 'SECRET_NOT_FOUND'],
      ['a name over the pattern', 'get', `/secrets/${'n'.repeat(129)}`, 400, 'VALIDATION_FAILED'],
      ['a bad version', 'get', '/secrets/X?version=0', 400, 'VALIDATION_FAILED'],
      ['an unknown query key', 'get', '/secrets?colour=red', 400, 'VALIDATION_FAILED'],
      ['no admin token', 'get', '/secrets', 401, 'UNAUTHORIZED'],
    ] as const)('answers %s with its code', async (label, method, path, status, code) => {
      const response = await call(method, path, label === 'no admin token' ? { token: null } : {});
      expect(response.status).toBe(status);
      expect(response.body.code).toBe(code);
    });
  });

  describe('operations', () => {
    it('GET /status, /health, /docs-json and the /docs UI', async () => {
      const status = await call('get', '/status', { token: null });
      expect(status.status).toBe(200);
      expect(status.body.kmsStatus).toMatchObject({ initialized: true });
      const health = await call('get', '/health', { token: null });
      expect(health.body).toMatchObject({ status: 'ok' });
      const openApi = await call('get', '/docs-json', { token: null });
      expect(Object.keys(openApi.body.paths)).toContain('/secrets/{name}');
      // The UI's page is Swagger's own, served by each platform's static files (Fastify names no
      // charset): compared by status and type only.
      for (const adapter of ADAPTERS) {
        const ui = await apps[adapter].demo.call('get', '/docs', { token: null });
        expect(ui.status, adapter).toBe(200);
        expect(ui.headers['content-type'], adapter).toMatch(/^text\/html/);
      }
    });

    it('GET /metrics counts requests by route pattern alike', async () => {
      await call('post', '/encrypt', { raw: '{"plaintext":' });
      const responses = await Promise.all(
        ADAPTERS.map((adapter) => apps[adapter].demo.call('get', '/metrics', { token: null })),
      );
      for (const response of responses) {
        expect(response.status).toBe(200);
        expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
        expect(response.headers['cache-control']).toBe('no-store');
      }
      const requestCounts = (text: string) =>
        text.split('\n').filter((line) => line.startsWith('http_requests_total{'));
      const [express, fastify] = responses.map((response) => requestCounts(response.text));
      expect(fastify).toEqual(express);
      expect(express).toEqual(
        expect.arrayContaining([
          expect.stringMatching(
            /^http_requests_total\{method="GET",route="\/status",status="200"\}/,
          ),
          expect.stringMatching(
            /^http_requests_total\{method="POST",route="unmatched",status="400"\}/,
          ),
          expect.stringMatching(/route="\/secrets\/:name",status="410"\}/),
        ]),
      );
    });
  });

  describe('errors and hostile input', () => {
    const deep = `{"plaintext":"x","aad":${'['.repeat(2_500)}${']'.repeat(2_500)}}`;
    const manyKeys = `{${Array.from({ length: 2_000 }, (_, at) => `"k${at}":1`).join(',')}}`;
    it.each([
      ['malformed JSON', { raw: '{"plaintext":' }, 400, 'MALFORMED_JSON'],
      ['a JSON string', { raw: '"x"' }, 400, 'MALFORMED_JSON'],
      ['an empty JSON body', { raw: '' }, 400, 'VALIDATION_FAILED'],
      ['a JSON array', { raw: '[1]' }, 400, 'INVALID_BODY'],
      ['2,500 levels of nesting', { raw: deep }, 400, 'JSON_TOO_DEEP'],
      ['2,000 keys', { raw: manyKeys }, 400, 'JSON_TOO_MANY_VALUES'],
      [
        'a 600 KiB body',
        { raw: `{"plaintext":"${'v'.repeat(600_000)}"}` },
        413,
        'PAYLOAD_TOO_LARGE',
      ],
      ['an unknown field', { body: { plaintext: 'x', extra: 1 } }, 400, 'VALIDATION_FAILED'],
      [
        'a top-level __proto__',
        { raw: '{"plaintext":"x","__proto__":{}}' },
        400,
        'VALIDATION_FAILED',
      ],
      [
        'a reserved AAD key',
        { body: { plaintext: 'x', aad: { 'demo.caller': 'b' } } },
        400,
        'AAD_RESERVED_KEY',
      ],
    ] as const)('POST /encrypt answers %s', async (_, options, status, code) => {
      const response = await asCaller('post', '/encrypt', options);
      expect(response.status).toBe(status);
      expect(response.body).toMatchObject({ code, message: expect.any(String) });
    });

    it.each([
      [
        'a body that is not UTF-8',
        'application/json; charset=utf-16le',
        415,
        'UNSUPPORTED_CHARSET',
      ],
      [
        'a charset body-parser does not read',
        'application/json; charset=latin1',
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      ],
      ['text/plain', 'text/plain', 400, 'INVALID_BODY'],
      ['a form', 'application/x-www-form-urlencoded', 400, 'INVALID_BODY'],
    ])('POST /notes answers %s', async (_, contentType, status, code) => {
      const response = await same(async (demo, callers) =>
        request(demo.app.getHttpServer())
          .post('/notes')
          .set('Authorization', `Bearer ${await callers.token('caller-a')}`)
          .set('Content-Type', contentType)
          .serialize(asSent)
          .send(Buffer.from('{"body":"x"}', contentType.includes('16le') ? 'utf16le' : 'utf8')),
      );
      expect(response.status).toBe(status);
      expect(response.body.code).toBe(code);
    });

    it.each([
      ['gzip', gzipSync, 200, undefined],
      ['deflate', deflateSync, 200, undefined],
      ['br', brotliCompressSync, 200, undefined],
      ['gzip', () => Buffer.from('not gzip'), 400, 'BAD_REQUEST'],
      ['compress', (body: Buffer) => body, 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ] as const)(
      'POST /encrypt inflates %s as Express does (%#)',
      async (encoding, encode, status, code) => {
        const response = await same(async (demo, callers) =>
          request(demo.app.getHttpServer())
            .post('/encrypt')
            .set('Authorization', `Bearer ${await callers.token('caller-a')}`)
            .set('Content-Type', 'application/json')
            .set('Content-Encoding', encoding)
            .serialize(asSent)
            .send(encode(Buffer.from('{"plaintext":"compressed"}'))),
        );
        expect(response.status).toBe(status);
        if (code !== undefined) expect(response.body.code).toBe(code);
      },
    );

    it('keeps a __proto__ tag as the client sent it', async () => {
      const response = await call('put', '/secrets/PROTO_TAGS', {
        raw: '{"value":"v","tags":{"__proto__":"x","team":"a"}}',
      });
      expect(response.status).toBe(200);
      expect(response.text).toContain('"tags":{"__proto__":"x","team":"a"}');
    });

    it.each([
      ['an unknown route', '/nowhere', 404, 'NOT_FOUND'],
      ['a long unknown route', `/${'p'.repeat(5_000)}`, 404, 'NOT_FOUND'],
      ['a broken percent-encoding', '/secrets/%E0%A4%A', 400, 'MALFORMED_PATH'],
      ['a note id that is no uuid', '/notes/abc', 401, 'UNAUTHORIZED'],
    ] as const)('answers %s with its code and headers', async (_, path, status, code) => {
      const response = await call('get', path, { token: null });
      expect(response.status).toBe(status);
      expect(response.body).toMatchObject({ code });
      expect(response.text.length).toBeLessThan(200);
      expect(response.headers['x-content-type-options']).toBe('nosniff');
    });

    it('routes as Express does: any letter case, an optional trailing slash', async () => {
      for (const path of ['/STATUS', '/status/', '/Status?x=1']) {
        expect((await call('get', path, { token: null })).status).toBe(200);
      }
      expect((await call('get', '//status', { token: null })).status).toBe(404);
    });

    it.each([
      [
        'headers over the limit',
        `GET /status HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`,
      ],
      ['a NUL in the request line', 'GET /sta\u0000tus HTTP/1.1\r\nHost: x\r\n\r\n'],
      ['garbage', 'NOT HTTP AT ALL\r\n\r\n'],
    ])('answers %s from the HTTP parser alike', async (_, raw) => {
      const [express, fastify] = await Promise.all(
        ADAPTERS.map((adapter) => rawExchange(apps[adapter].demo.app.getHttpServer(), raw)),
      );
      expect(fastify).toBe(express);
      expect(express).toMatch(/^HTTP\/1.1 4\d\d /);
    });
  });

  it('logs no value on either platform', () => {
    const logs = CapturedLogger.allText();
    expect(logs).toContain('"event":"admin_auth_refused"');
    expect(logs).not.toContain('p'.repeat(970));
  });
});
