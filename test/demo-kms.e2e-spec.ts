import { toCompactEnvelope, type EnvelopeV1 } from '@nest-kms/kms';
import { loggedEvents } from './support/captured-logger.js';
import { ENGINES } from './support/databases.js';
import { demoForSuite, query, type DemoCall } from './support/demo-app.js';
import { DemoCallers } from './support/demo-callers.js';
import { DemoTranscript } from './support/demo-transcript.js';

/** The demo's encryption, key and operations endpoints, over HTTP, as a client sees them. */
describe.each(ENGINES)('demo: encryption and operations on %s', (engine) => {
  const transcript = new DemoTranscript();
  const demo = demoForSuite(engine, transcript);
  const callers = new DemoCallers(demo, transcript);
  const { encrypt, decrypt } = callers;

  describe('POST /encrypt and POST /decrypt', () => {
    it('round-trips a value bound to an AAD, and the envelope does not contain it', async () => {
      const plaintext = transcript.value('plaintext');
      const envelope = await encrypt(plaintext, { userId: 'user-1' });
      expect(envelope).toMatchObject({ v: 1, alg: 'aes-256-gcm', keyId: expect.any(String) });
      const response = await decrypt({ envelope, aad: { userId: 'user-1' } });
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ plaintext });
    });

    it('decrypts the compact form and an envelope without AAD', async () => {
      const plaintext = transcript.value('plaintext');
      const envelope = await encrypt(plaintext);
      for (const form of [envelope, toCompactEnvelope(envelope)]) {
        const response = await decrypt({ envelope: form });
        expect(response.status).toBe(200);
        expect(response.body.plaintext).toBe(plaintext);
      }
    });

    const badEncryptions: [string, DemoCall, number, string][] = [
      ['no body', {}, 400, 'INVALID_BODY'],
      ['an array body', { body: [1, 2] }, 400, 'INVALID_BODY'],
      ['malformed JSON', { raw: '{"plaintext": "x",' }, 400, 'MALFORMED_JSON'],
      ['no plaintext', { body: {} }, 400, 'VALIDATION_FAILED'],
      ['a numeric plaintext', { body: { plaintext: 42 } }, 400, 'VALIDATION_FAILED'],
      ['an unknown property', { body: { plaintext: 'x', keyId: 'k' } }, 400, 'VALIDATION_FAILED'],
      ['a numeric AAD', { body: { plaintext: 'x', aad: 7 } }, 400, 'VALIDATION_FAILED'],
      [
        'a nested AAD',
        { body: { plaintext: 'x', aad: { a: { b: 'c' } } } },
        400,
        'VALIDATION_FAILED',
      ],
      [
        'an AAD over 8 KiB',
        { body: { plaintext: 'x', aad: 'a'.repeat(9000) } },
        400,
        'KMS_INVALID_INPUT',
      ],
      ['a lone surrogate', { body: { plaintext: '\ud800' } }, 400, 'KMS_INVALID_INPUT'],
      [
        'a body over the limit',
        { body: { plaintext: 'x'.repeat(600_000) } },
        413,
        'PAYLOAD_TOO_LARGE',
      ],
    ];
    it.each(badEncryptions)('refuses %s', async (_, call, status, code) => {
      const token = await callers.token('caller-a');
      const response = await demo.call('post', '/encrypt', { ...call, token });
      expect(response.status).toBe(status);
      expect(response.body).toEqual(expect.objectContaining({ code, message: expect.any(String) }));
    });

    it('names the fields and rules of a refused body, never its values', async () => {
      const plaintext = transcript.value('plaintext');
      const response = await demo.call('post', '/encrypt', {
        token: await callers.token('caller-a'),
        body: { plaintext, aad: { tenant: 5 } },
      });
      expect(response.status).toBe(400);
      expect(response.body.problems).toEqual([
        { field: 'aad', rules: ['aad must be a string or a flat object of strings'] },
      ]);
    });

    it('hides what JSON.parse quotes from a malformed body', async () => {
      const plaintext = transcript.value('plaintext');
      const response = await demo.call('post', '/encrypt', {
        token: await callers.token('caller-a'),
        raw: `{"plaintext": ${plaintext}}`,
      });
      expect(response.body).toEqual({
        code: 'MALFORMED_JSON',
        message: 'The request body is not valid JSON',
      });
    });

    it.each([
      ['no envelope', () => ({}), 400, 'VALIDATION_FAILED'],
      ['a numeric envelope', () => ({ envelope: 3 }), 400, 'VALIDATION_FAILED'],
      ['a garbage string', () => ({ envelope: 'not-an-envelope' }), 400, 'KMS_MALFORMED_ENVELOPE'],
      [
        'version 2',
        (e: EnvelopeV1) => ({ envelope: { ...e, v: 2 } }),
        400,
        'KMS_MALFORMED_ENVELOPE',
      ],
      [
        'bad base64',
        (e: EnvelopeV1) => ({ envelope: { ...e, iv: '***' } }),
        400,
        'KMS_MALFORMED_ENVELOPE',
      ],
      [
        'a changed timestamp',
        (e: EnvelopeV1) => ({ envelope: { ...e, timestamp: e.timestamp + 1 } }),
        422,
        'KMS_DECRYPTION_FAILED',
      ],
      [
        'an unknown key',
        (e: EnvelopeV1) => ({ envelope: { ...e, keyId: 'dk-missing' } }),
        422,
        'KMS_DATA_KEY_NOT_FOUND',
      ],
      [
        'the wrong AAD',
        (e: EnvelopeV1) => ({ envelope: e, aad: { userId: 'user-2' } }),
        422,
        'KMS_AAD_MISMATCH',
      ],
      [
        'a stripped AAD',
        (e: EnvelopeV1) => ({ envelope: { ...e, aad: undefined } }),
        422,
        'KMS_DECRYPTION_FAILED',
      ],
    ] as const)('decrypt refuses %s', async (_, bodyFor, status, code) => {
      const envelope = await encrypt(transcript.value('plaintext'), { userId: 'user-1' });
      const response = await decrypt(bodyFor(envelope));
      expect(response.status).toBe(status);
      expect(response.body).toEqual(expect.objectContaining({ code, message: expect.any(String) }));
    });
  });

  describe('POST /encrypt/batch and POST /decrypt/batch', () => {
    /** The demo's documented maximum per batch request. */
    const BATCH_MAX = 100;
    const batch = async (path: string, body: unknown, reveals = false, caller = 'caller-a') =>
      demo.call('post', path, { token: await callers.token(caller), body, reveals });

    it('round-trips many values in order, each bound to the caller and its own AAD', async () => {
      const plaintexts = [transcript.value('a'), transcript.value('b'), transcript.value('c')];
      const sealed = await batch('/encrypt/batch', {
        items: [
          { plaintext: plaintexts[0] },
          { plaintext: plaintexts[1], aad: { userId: 'user-1' } },
          { plaintext: plaintexts[2], aad: 'order-7' },
        ],
      });
      expect(sealed.status).toBe(200);
      const envelopes = (sealed.body.results as { ok: boolean; envelope: EnvelopeV1 }[]).map(
        (result) => {
          expect(result.ok).toBe(true);
          return result.envelope;
        },
      );
      const opened = await batch(
        '/decrypt/batch',
        {
          items: [
            { envelope: envelopes[0] },
            { envelope: toCompactEnvelope(envelopes[1]), aad: { userId: 'user-1' } },
            { envelope: envelopes[2], aad: 'order-7' },
          ],
        },
        true,
      );
      expect(opened.status).toBe(200);
      expect(opened.body).toEqual({
        results: plaintexts.map((plaintext) => ({ ok: true, plaintext })),
      });
      // Bound to their caller: another caller opens none of them.
      const stolen = await batch(
        '/decrypt/batch',
        { items: [{ envelope: envelopes[0] }] },
        false,
        'caller-b',
      );
      expect(stolen.body.results[0]).toMatchObject({
        ok: false,
        error: { code: 'KMS_AAD_MISMATCH' },
      });
    });

    it('answers each bad item with its code and message only, the others with their value', async () => {
      const plaintext = transcript.value('plaintext');
      const envelope = await encrypt(plaintext, { userId: 'user-1' });
      const ciphertext = Buffer.from(envelope.ciphertext, 'base64');
      ciphertext[0] ^= 1;
      const response = await batch(
        '/decrypt/batch',
        {
          items: [
            { envelope: { ...envelope, ciphertext: ciphertext.toString('base64') } },
            { envelope, aad: { userId: 'user-1' } },
            { envelope: 'kms1.garbage' },
            { envelope, aad: { 'demo.caller': 'caller-b' } },
            { envelope, aad: { userId: 'user-2' } },
          ],
        },
        true,
      );
      expect(response.status).toBe(200);
      const results = response.body.results as Record<string, unknown>[];
      expect(results.map((result) => result.ok)).toEqual([false, true, false, false, false]);
      expect(results[1]).toEqual({ ok: true, plaintext });
      expect(results.filter((result) => !result.ok).map((result) => result.error)).toEqual([
        { code: 'KMS_DECRYPTION_FAILED', message: expect.any(String) },
        { code: 'KMS_MALFORMED_ENVELOPE', message: expect.any(String) },
        { code: 'AAD_RESERVED_KEY', message: expect.any(String) },
        { code: 'KMS_AAD_MISMATCH', message: expect.any(String) },
      ]);
      expect(JSON.stringify(results.filter((result) => !result.ok))).not.toContain(plaintext);
    });

    it('encrypts good items when others fail, and refuses a malformed body whole', async () => {
      const response = await batch('/encrypt/batch', {
        items: [{ plaintext: '\ud800' }, { plaintext: transcript.value('ok') }],
      });
      expect(response.status).toBe(200);
      expect(response.body.results[0]).toEqual({
        ok: false,
        error: { code: 'KMS_INVALID_INPUT', message: expect.any(String) },
      });
      expect(response.body.results[1]).toMatchObject({ ok: true, envelope: { v: 1 } });
      for (const body of [{}, { items: 'x' }, { items: [{ plaintext: 5 }] }, { items: [{}] }]) {
        const refused = await batch('/encrypt/batch', body);
        expect(refused.status).toBe(400);
        expect(refused.body.code).toBe('VALIDATION_FAILED');
      }
    });

    it('refuses more items than a batch holds with 413 and the maximum', async () => {
      const items = Array.from({ length: BATCH_MAX + 1 }, () => ({ plaintext: 'x' }));
      for (const path of ['/encrypt/batch', '/decrypt/batch']) {
        const body =
          path === '/encrypt/batch'
            ? { items }
            : { items: items.map(() => ({ envelope: 'kms1.x' })) };
        const response = await batch(path, body);
        expect(response.status).toBe(413);
        expect(response.body).toEqual({
          code: 'BATCH_TOO_LARGE',
          message: expect.any(String),
          max: BATCH_MAX,
        });
      }
      // A body of more JSON values than the demo parses is refused before it is read.
      const huge = Array.from({ length: 600 }, () => ({ envelope: 'kms1.x' }));
      const refused = await batch('/decrypt/batch', { items: huge });
      expect(refused.status).toBe(400);
      expect(refused.body.code).toBe('JSON_TOO_MANY_VALUES');
    });

    it('refuses a caller without a token', async () => {
      const response = await demo.call('post', '/encrypt/batch', { body: { items: [] } });
      expect(response.status).toBe(401);
    });
  });

  describe('POST /keys/rotate', () => {
    it('makes a new active key while envelopes of the old one still decrypt', async () => {
      const plaintext = transcript.value('plaintext');
      const before = await encrypt(plaintext);
      const response = await demo.call('post', '/keys/rotate');
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ keyId: expect.any(String), previousKeyId: before.keyId });
      expect((await encrypt('after')).keyId).toBe(response.body.keyId);
      const opened = await decrypt({ envelope: before });
      expect(opened.body.plaintext).toBe(plaintext);
      expect(loggedEvents('data_key_rotated').length).toBeGreaterThan(0);
    });

    it('refuses without the admin token', async () => {
      const response = await demo.call('post', '/keys/rotate', { token: null });
      expect(response.status).toBe(401);
      expect(response.body.code).toBe('UNAUTHORIZED');
    });
  });

  describe('operations', () => {
    it('GET /status has the design document shape', async () => {
      const response = await demo.call('get', '/status', { token: null });
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({
        cacheSize: expect.any(Number),
        kmsStatus: {
          initialized: true,
          masterKeyPresent: true,
          dataKeysCount: expect.any(Number),
          secretsCount: expect.any(Number),
          expiredSecretsCount: 0,
        },
      });
    });

    it('GET /health reports the database and the KMS up', async () => {
      const response = await demo.call('get', '/health', { token: null });
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({
        status: 'ok',
        details: { database: { status: 'up' }, kms: { status: 'up' } },
      });
    });

    it('GET /metrics serves the design document metrics and request counts', async () => {
      await demo.call('get', '/status', { token: null });
      const response = await demo.call('get', '/metrics', { token: null });
      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toMatch(/^text\/plain/);
      for (const name of [
        'kms_init_time',
        'secret_cache_hit_rate',
        'secret_retrieval_latency',
        'decryption_errors',
        'key_rotation_frequency',
      ]) {
        expect(response.text).toContain(`# TYPE ${name} `);
      }
      expect(response.text).toMatch(/\nsecret_retrieval_latency_count [1-9]/);
      expect(response.text).toMatch(
        /http_requests_total\{method="GET",route="\/status",status="200"\} [1-9]/,
      );
      expect(response.text).toMatch(
        /http_requests_total\{method="POST",route="unmatched",status="400"\}/,
      );
    });

    it('serves the OpenAPI document and its UI', async () => {
      const json = await demo.call('get', '/docs-json', { token: null });
      expect(json.status).toBe(200);
      expect(Object.keys(json.body.paths)).toEqual(
        expect.arrayContaining([
          '/encrypt',
          '/decrypt',
          '/encrypt/batch',
          '/decrypt/batch',
          '/secrets',
          '/secrets/{name}',
          '/keys/rotate',
          '/notes',
          '/notes/{id}',
          '/callers/{caller}/token',
          '/status',
          '/health',
          '/metrics',
        ]),
      );
      expect(json.body.components.securitySchemes.bearer).toMatchObject({ scheme: 'bearer' });
      const ui = await demo.call('get', '/docs', { token: null });
      expect(ui.status).toBe(200);
      expect(ui.text).toContain('swagger-ui');
    });

    it('answers an unknown route 404 with a code', async () => {
      const response = await demo.call('get', '/nowhere', { token: null });
      expect(response.status).toBe(404);
      expect(response.body).toEqual({ code: 'NOT_FOUND', message: 'No route GET "/nowhere"' });
    });

    it('answers an unexpected failure 500 with an errorId the log carries', async () => {
      await query(demo.dataSource, 'ALTER TABLE demo_notes RENAME TO demo_notes_away');
      try {
        const body = transcript.value('note');
        const token = await callers.token('owner-a');
        const response = await demo.call('post', '/notes', { token, body: { body } });
        expect(response.status).toBe(500);
        expect(response.body).toEqual({
          code: 'INTERNAL',
          message: expect.any(String),
          errorId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        });
        const logged = loggedEvents('unexpected_error').map((event) => event.errorId);
        expect(logged).toContain(response.body.errorId);
      } finally {
        await query(demo.dataSource, 'ALTER TABLE demo_notes_away RENAME TO demo_notes');
      }
    });
  });
});
