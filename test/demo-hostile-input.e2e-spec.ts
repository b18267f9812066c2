import request from 'supertest';
import { ENGINES } from './support/databases.js';
import { demoForSuite, rawExchange, type DemoCall, type HttpMethod } from './support/demo-app.js';
import { DemoCallers } from './support/demo-callers.js';
import { DemoTranscript } from './support/demo-transcript.js';

const nested = (depth: number, open = '[', close = ']', inner = '"x"'): string =>
  `${open.repeat(depth)}${inner}${close.repeat(depth)}`;
const deepMap = (depth: number): string => nested(depth, '{"k":', '}');

/** What a client sends that no handler should ever have to cope with. */
describe.each(ENGINES)('demo: hostile input on %s', (engine) => {
  const transcript = new DemoTranscript();
  const demo = demoForSuite(engine, transcript);
  const callers = new DemoCallers(demo, transcript);

  /** Every route that takes a body, with a valid body to hide a hostile field in. */
  const bodies: [HttpMethod, string, 'admin' | 'caller', Record<string, string>][] = [
    ['post', '/encrypt', 'caller', { plaintext: '"x"', aad: '"a"' }],
    ['post', '/decrypt', 'caller', { envelope: '"kms1.x"', aad: '"a"' }],
    ['post', '/notes', 'caller', { body: '"x"' }],
    ['put', '/secrets/HOSTILE', 'admin', { value: '"v"', description: '"d"', tags: '{}' }],
    ['post', '/secrets/HOSTILE/rotate', 'admin', { value: '"v"' }],
  ];
  const bodyWith = (fields: Record<string, string>, field: string, json: string): string =>
    `{${Object.entries({ ...fields, [field]: json })
      .map(([key, value]) => `${JSON.stringify(key)}:${value}`)
      .join(',')}}`;
  const send = async (method: HttpMethod, path: string, who: 'admin' | 'caller', call: DemoCall) =>
    demo.call(method, path, who === 'admin' ? call : { ...call, token: await callers.token('c') });

  describe('nesting and size are bounded before any transformation', () => {
    const everyField = bodies.flatMap(([method, path, who, fields]) =>
      Object.keys(fields).map((field) => [method, path, who, fields, field] as const),
    );
    it.each(everyField)(
      '%s %s refuses 2,500 levels in %s',
      async (method, path, who, fields, field) => {
        for (const json of [nested(2_500), deepMap(2_500), nested(10_000, '[', ']', '')]) {
          const response = await send(method, path, who, { raw: bodyWith(fields, field, json) });
          expect(response.status).toBe(400);
          expect(response.body).toEqual({ code: 'JSON_TOO_DEEP', message: expect.any(String) });
        }
      },
    );

    it('accepts the nesting a real body has', async () => {
      const token = await callers.token('c');
      const response = await demo.call('post', '/encrypt', {
        token,
        body: { plaintext: 'x', aad: { tenant: 't' } },
      });
      expect(response.status).toBe(200);
    });

    it('refuses 40,000 keys with a short answer', async () => {
      const keys = Array.from({ length: 40_000 }, (_, at) => `"k${at}":1`).join(',');
      const response = await send('post', '/encrypt', 'caller', { raw: `{${keys}}` });
      expect(response.status).toBe(400);
      expect(response.body).toEqual({ code: 'JSON_TOO_MANY_VALUES', message: expect.any(String) });
      expect(response.text.length).toBeLessThan(200);
    });

    it('lists the first ten problems of many, and how many more', async () => {
      const body = Object.fromEntries(Array.from({ length: 900 }, (_, at) => [`k${at}`, 1]));
      const response = await send('post', '/encrypt', 'caller', {
        body: { ...body, plaintext: 'x' },
      });
      expect(response.status).toBe(400);
      expect(response.body.code).toBe('VALIDATION_FAILED');
      expect(response.body.problems).toHaveLength(10);
      expect(response.body.moreProblems).toBe(890);
      expect(response.body.message).toMatch(/; and 890 more$/);
      expect(response.text.length).toBeLessThan(2_000);
    });

    it('quotes a hostile key bounded and escaped', async () => {
      const key = `\u0000${'k'.repeat(10_000)}`;
      const response = await send('post', '/encrypt', 'caller', {
        raw: `{"plaintext":"x",${JSON.stringify(key)}:1}`,
      });
      expect(response.status).toBe(400);
      expect(response.body.problems[0].field).toMatch(/^"\\u0000k{63}"… \(10001 chars\)$/);
      expect(response.text.length).toBeLessThan(1_000);
    });
  });

  describe('the libraries see exactly what the client sent', () => {
    async function sealed(): Promise<Record<string, unknown>> {
      const response = await send('post', '/encrypt', 'caller', { body: { plaintext: 'x' } });
      return response.body.envelope as Record<string, unknown>;
    }

    it.each(['__proto__', 'constructor'])(
      'an envelope with an own %s key is refused by the envelope check',
      async (key) => {
        const envelope = JSON.stringify(await sealed()).replace(/}$/, `,"${key}":{"x":1}}`);
        const response = await send('post', '/decrypt', 'caller', {
          raw: `{"envelope":${envelope}}`,
        });
        expect(response.status).toBe(400);
        expect(response.body.code).toBe('KMS_MALFORMED_ENVELOPE');
      },
    );

    const prototypeKeys = ['__proto__', 'constructor', 'prototype'];
    const topLevel = bodies.flatMap(([method, path, who, fields]) =>
      prototypeKeys.map((key) => [method, path, who, fields, key] as const),
    );
    it.each(topLevel)('%s %s refuses a top-level %s', async (method, path, who, fields, key) => {
      const response = await send(method, path, who, {
        raw: bodyWith(fields, key, '{"polluted":"yes"}'),
      });
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({
        code: 'VALIDATION_FAILED',
        problems: [{ field: key, rules: [expect.any(String)] }],
      });
    });

    it('hands tags to the secrets library with their own __proto__ key, kept as a tag', async () => {
      const response = await demo.call('put', '/secrets/HOSTILE_TAGS', {
        raw: '{"value":"v","tags":{"__proto__":"x","team":"a"}}',
      });
      expect(response.status).toBe(200);
      expect(response.text).toContain('"tags":{"__proto__":"x","team":"a"}');
    });
  });

  describe('HTTP', () => {
    it.each([
      ['an answer', '/status', {}, 200],
      ['a refusal', '/secrets', { token: null }, 401],
      ['an unknown route', '/nowhere', {}, 404],
    ] as const)(
      'sets the security headers on %s, without X-Powered-By',
      async (_, path, call, status) => {
        const response = await demo.call('get', path, call);
        expect(response.status).toBe(status);
        expect(response.headers['x-powered-by']).toBeUndefined();
        expect(response.headers).toMatchObject({
          'x-content-type-options': 'nosniff',
          'x-frame-options': 'SAMEORIGIN',
          'strict-transport-security': expect.stringContaining('max-age='),
          'content-security-policy': expect.stringContaining("default-src 'self'"),
          'cross-origin-resource-policy': 'same-origin',
          'referrer-policy': 'no-referrer',
        });
      },
    );

    it('refuses a body that is not UTF-8', async () => {
      const response = await request(demo.app.getHttpServer())
        .post('/notes')
        .set('Authorization', `Bearer ${await callers.token('c')}`)
        .set('Content-Type', 'application/json; charset=utf-16le')
        .send(Buffer.from('{"body":"x"}', 'utf16le'));
      expect(response.status).toBe(415);
      expect(response.body.code).toBe('UNSUPPORTED_CHARSET');
    });

    it('answers a broken percent-encoding without quoting it', async () => {
      const response = await demo.call('get', '/secrets/%E0%A4%A');
      expect(response.status).toBe(400);
      expect(response.body).toEqual({ code: 'MALFORMED_PATH', message: expect.any(String) });
      expect(response.text).not.toContain('%E0');
    });

    it('quotes an unknown path bounded', async () => {
      const response = await demo.call('get', `/${'p'.repeat(5_000)}`);
      expect(response.status).toBe(404);
      expect(response.body.message.length).toBeLessThan(120);
    });

    it.each([
      [
        'headers over the limit',
        `GET /status HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`,
        431,
        'HEADERS_TOO_LARGE',
      ],
      [
        'a NUL in the request line',
        'GET /sta\u0000tus HTTP/1.1\r\nHost: x\r\n\r\n',
        400,
        'MALFORMED_REQUEST',
      ],
      ['garbage', 'NOT HTTP AT ALL\r\n\r\n', 400, 'MALFORMED_REQUEST'],
    ])('answers %s with a code', async (_, raw, status, code) => {
      const text = await rawExchange(demo.app.getHttpServer(), raw);
      expect(text).toMatch(new RegExp(`^HTTP/1.1 ${status} `));
      expect(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4))).toEqual({
        code,
        message: expect.any(String),
      });
    });
  });
});
