import { CapturedLogger, loggedEvents } from './support/captured-logger.js';
import { ENGINES } from './support/databases.js';
import { demoForSuite, uniqueName, type DemoCall, type HttpMethod } from './support/demo-app.js';
import { DemoTranscript } from './support/demo-transcript.js';
import { eventually } from './support/eventually.js';

/** The demo's secrets endpoints and their admin-token guard, over HTTP. */
describe.each(ENGINES)('demo: secrets over HTTP on %s', (engine) => {
  const transcript = new DemoTranscript();
  const demo = demoForSuite(engine, transcript);

  async function putSecret(name: string, body: Record<string, unknown>) {
    const response = await demo.call('put', `/secrets/${encodeURIComponent(name)}`, { body });
    expect(response.status).toBe(200);
    return response.body as Record<string, unknown>;
  }

  const readSecret = (name: string, query = '') =>
    demo.call('get', `/secrets/${encodeURIComponent(name)}${query}`, { reveals: true });

  describe('success paths', () => {
    it('PUT stores a secret and answers its metadata, never its value', async () => {
      const name = uniqueName('API_KEY');
      const value = transcript.value('api-key');
      const metadata = await putSecret(name, {
        value,
        ttlDays: 30,
        tags: { service: 'billing' },
        description: 'billing API',
      });
      expect(metadata).toMatchObject({
        name,
        currentVersion: 1,
        keyId: expect.any(String),
        tags: { service: 'billing' },
        rotationPolicy: 'manual',
        description: 'billing API',
        expiresAt: expect.any(String),
      });
      const read = await readSecret(name);
      expect(read.status).toBe(200);
      expect(read.body).toEqual({ name, version: null, value });
    });

    it('rotates: the new value is current, the old one stays readable by version', async () => {
      const name = uniqueName('DB_PASSWORD');
      const first = transcript.value('password');
      const second = transcript.value('password');
      await putSecret(name, { value: first });
      const rotated = await demo.call('post', `/secrets/${name}/rotate`, {
        body: { value: second },
      });
      expect(rotated.status).toBe(200);
      expect(rotated.body).toMatchObject({ name, currentVersion: 2 });
      expect((await readSecret(name)).body.value).toBe(second);
      expect((await readSecret(name, '?version=1')).body).toEqual({
        name,
        version: 1,
        value: first,
      });
    });

    it('lists metadata by tag without values', async () => {
      const tag = uniqueName('team');
      const names = [uniqueName('A'), uniqueName('B')];
      for (const name of names)
        await putSecret(name, { value: transcript.value('v'), tags: { team: tag } });
      await putSecret(uniqueName('OTHER'), { value: transcript.value('v'), tags: { team: 'x' } });
      const listed = await demo.call('get', `/secrets?tag=${encodeURIComponent(`team=${tag}`)}`);
      expect(listed.status).toBe(200);
      expect(listed.body.nextCursor).toBeNull();
      const secrets = listed.body.secrets as { name: string }[];
      expect(secrets.map((secret) => secret.name)).toEqual(names.sort());
      expect(secrets[0]).not.toHaveProperty('value');
    });

    it('lists in pages by prefix: limit, after and nextCursor walk every secret once', async () => {
      const prefix = `${uniqueName('paged')}/`;
      const names = Array.from({ length: 7 }, (_, i) => `${prefix}${i}`);
      for (const name of names) await putSecret(name, { value: transcript.value('v') });
      const walked: string[] = [];
      let query = `prefix=${encodeURIComponent(prefix)}&limit=3`;
      for (;;) {
        const page = await demo.call('get', `/secrets?${query}`);
        expect(page.status).toBe(200);
        walked.push(...(page.body.secrets as { name: string }[]).map((secret) => secret.name));
        if (page.body.nextCursor === null) break;
        query = `prefix=${encodeURIComponent(prefix)}&limit=3&after=${encodeURIComponent(page.body.nextCursor)}`;
      }
      expect(walked).toEqual(names);
      // Without a limit, a page of the default size.
      const whole = await demo.call('get', `/secrets?prefix=${encodeURIComponent(prefix)}`);
      expect(whole.body).toMatchObject({ nextCursor: null });
      expect(whole.body.secrets).toHaveLength(7);
    });

    it('reads several secrets in one call, each with its own result', async () => {
      const present = uniqueName('BATCH_A');
      const deleted = uniqueName('BATCH_GONE');
      const value = transcript.value('batch');
      await putSecret(present, { value });
      await putSecret(deleted, { value: transcript.value('gone') });
      expect((await demo.call('delete', `/secrets/${deleted}`)).status).toBe(200);
      const response = await demo.call('post', '/secrets/batch-get', {
        body: { names: [present, 'NEVER_STORED', deleted] },
        reveals: true,
      });
      expect(response.status).toBe(200);
      expect(response.body).toEqual({
        results: [
          { name: present, ok: true, value, version: 1 },
          {
            name: 'NEVER_STORED',
            ok: false,
            error: { code: 'SECRET_NOT_FOUND', message: expect.any(String) },
          },
          {
            name: deleted,
            ok: false,
            error: { code: 'SECRET_DELETED', message: expect.any(String) },
          },
        ],
      });
    });

    it('DELETE soft-deletes: reads answer 410 SECRET_DELETED', async () => {
      const name = uniqueName('TEMP');
      await putSecret(name, { value: transcript.value('temp') });
      const deleted = await demo.call('delete', `/secrets/${name}`);
      expect(deleted.status).toBe(200);
      expect(deleted.body).toMatchObject({ name });
      const read = await demo.call('get', `/secrets/${name}`);
      expect(read.status).toBe(410);
      expect(read.body.code).toBe('SECRET_DELETED');
    });

    it('takes names with a slash when it is percent-encoded', async () => {
      const name = `${uniqueName('svc')}/token`;
      const value = transcript.value('token');
      await putSecret(name, { value });
      expect((await readSecret(name)).body.value).toBe(value);
    });
  });

  describe('bad input', () => {
    const cases: [string, HttpMethod, string, DemoCall, number, string][] = [
      [
        'an invalid name',
        'put',
        '/secrets/-bad',
        { body: { value: 'v' } },
        400,
        'VALIDATION_FAILED',
      ],
      [
        'a name over 128 characters',
        'get',
        `/secrets/${'n'.repeat(129)}`,
        {},
        400,
        'VALIDATION_FAILED',
      ],
      ['an unknown secret', 'get', '/secrets/NEVER_STORED', {}, 404, 'SECRET_NOT_FOUND'],
      [
        'an unknown version',
        'get',
        '/secrets/ADMIN_TOKEN?version=99',
        {},
        404,
        'SECRET_VERSION_NOT_FOUND',
      ],
      [
        'a non-numeric version',
        'get',
        '/secrets/ADMIN_TOKEN?version=abc',
        {},
        400,
        'VALIDATION_FAILED',
      ],
      [
        'an unknown query parameter',
        'get',
        '/secrets/ADMIN_TOKEN?as=text',
        {},
        400,
        'VALIDATION_FAILED',
      ],
      [
        'rotating an unknown secret',
        'post',
        '/secrets/NEVER_STORED/rotate',
        { body: { value: 'v' } },
        404,
        'SECRET_NOT_FOUND',
      ],
      [
        'deleting an unknown secret',
        'delete',
        '/secrets/NEVER_STORED',
        {},
        404,
        'SECRET_NOT_FOUND',
      ],
      ['no value', 'put', '/secrets/NEW_ONE', { body: {} }, 400, 'VALIDATION_FAILED'],
      [
        'an empty value',
        'put',
        '/secrets/NEW_ONE',
        { body: { value: '' } },
        400,
        'SECRET_INVALID_INPUT',
      ],
      [
        'a value over 64 KiB',
        'put',
        '/secrets/NEW_ONE',
        { body: { value: 'v'.repeat(65_537) } },
        400,
        'SECRET_INVALID_INPUT',
      ],
      [
        'a numeric value',
        'put',
        '/secrets/NEW_ONE',
        { body: { value: 5 } },
        400,
        'VALIDATION_FAILED',
      ],
      [
        'an unknown policy',
        'put',
        '/secrets/NEW_ONE',
        { body: { value: 'v', rotationPolicy: 'daily' } },
        400,
        'VALIDATION_FAILED',
      ],
      [
        'a fractional TTL',
        'put',
        '/secrets/NEW_ONE',
        { body: { value: 'v', ttlDays: 1.5 } },
        400,
        'VALIDATION_FAILED',
      ],
      [
        'a TTL of 0 days',
        'put',
        '/secrets/NEW_ONE',
        { body: { value: 'v', ttlDays: 0 } },
        400,
        'SECRET_INVALID_INPUT',
      ],
      [
        'numeric tags',
        'put',
        '/secrets/NEW_ONE',
        { body: { value: 'v', tags: { a: 1 } } },
        400,
        'VALIDATION_FAILED',
      ],
      [
        'an invalid tag key',
        'put',
        '/secrets/NEW_ONE',
        { body: { value: 'v', tags: { 'a b': 'c' } } },
        400,
        'SECRET_INVALID_INPUT',
      ],
      [
        'an unknown property',
        'put',
        '/secrets/NEW_ONE',
        { body: { value: 'v', owner: 'me' } },
        400,
        'VALIDATION_FAILED',
      ],
      ['malformed JSON', 'put', '/secrets/NEW_ONE', { raw: '{"value":' }, 400, 'MALFORMED_JSON'],
      ['two tag filters', 'get', '/secrets?tag=a&tag=b', {}, 400, 'VALIDATION_FAILED'],
      ['a page of 0', 'get', '/secrets?limit=0', {}, 400, 'VALIDATION_FAILED'],
      ['a page over the maximum', 'get', '/secrets?limit=1001', {}, 400, 'VALIDATION_FAILED'],
      ['a cursor that is no name', 'get', '/secrets?after=-x', {}, 400, 'VALIDATION_FAILED'],
      ['a prefix that is no name', 'get', '/secrets?prefix=a%20b', {}, 400, 'VALIDATION_FAILED'],
      ['a tag filter without a key', 'get', '/secrets?tag==v', {}, 400, 'SECRET_INVALID_INPUT'],
      [
        'a batch over 100 names',
        'post',
        '/secrets/batch-get',
        { body: { names: Array.from({ length: 101 }, (_, i) => `N${i}`) } },
        400,
        'VALIDATION_FAILED',
      ],
      [
        'a batch with a bad name',
        'post',
        '/secrets/batch-get',
        { body: { names: ['OK', '-bad'] } },
        400,
        'VALIDATION_FAILED',
      ],
      [
        'a batch that is not a list',
        'post',
        '/secrets/batch-get',
        { body: { names: 'ADMIN_TOKEN' } },
        400,
        'VALIDATION_FAILED',
      ],
    ];
    it.each(cases)('refuses %s', async (_, method, path, call, status, code) => {
      const response = await demo.call(method, path, call);
      expect(response.status).toBe(status);
      expect(response.body).toEqual(expect.objectContaining({ code, message: expect.any(String) }));
    });

    it('never stores a refused value', async () => {
      const name = uniqueName('REFUSED');
      const response = await demo.call('put', `/secrets/${name}`, {
        body: { value: transcript.value('refused'), ttlDays: 0 },
      });
      expect(response.status).toBe(400);
      expect((await demo.call('get', `/secrets/${name}`)).status).toBe(404);
    });
  });

  describe('the admin token', () => {
    const protectedEndpoints: [HttpMethod, string, unknown][] = [
      ['get', '/secrets', undefined],
      ['post', '/secrets/batch-get', { names: ['ADMIN_TOKEN'] }],
      ['put', '/secrets/ANY', { value: 'v' }],
      ['get', '/secrets/ADMIN_TOKEN', undefined],
      ['post', '/secrets/ANY/rotate', { value: 'v' }],
      ['delete', '/secrets/ANY', undefined],
      ['post', '/keys/rotate', undefined],
    ];
    const badCredentials: [string, string | null][] = [
      ['no token', null],
      ['a wrong token', 'wrong-token-of-some-length'],
      ['an empty token', ''],
    ];
    describe.each(badCredentials)('with %s', (label, token) => {
      it.each(protectedEndpoints)('%s %s answers 401', async (method, path, body) => {
        const before = CapturedLogger.everything.length;
        const response = await demo.call(method, path, { token, body });
        expect(response.status).toBe(401);
        expect(response.headers['www-authenticate']).toMatch(/^Bearer /);
        expect(response.body).toEqual({ code: 'UNAUTHORIZED', message: expect.any(String) });
        const refused = loggedEvents('admin_auth_refused', before);
        expect(refused).toEqual([
          expect.objectContaining({ reason: label === 'a wrong token' ? 'mismatch' : 'missing' }),
        ]);
      });
    });

    it.each([
      ['another scheme', (token: string) => `Basic ${token}`],
      ['the token with more after it', (token: string) => `Bearer ${token}x`],
      ['a prefix of the token', (token: string) => `Bearer ${token.slice(0, -1)}`],
      ['the token twice', (token: string) => `Bearer ${token} ${token}`],
    ])('refuses %s', async (_, header) => {
      const authorization = header(demo.env.ADMIN_TOKEN as string);
      const response = await demo.call('get', '/secrets', { authorization });
      expect(response.status).toBe(401);
    });

    it('is the stored secret ADMIN_TOKEN, and rotating it takes effect without a restart', async () => {
      const next = transcript.value('admin-token');
      const rotated = await demo.call('post', '/secrets/ADMIN_TOKEN/rotate', {
        body: { value: next },
      });
      expect(rotated.status).toBe(200);
      await eventually(async () => {
        expect((await demo.call('get', '/secrets', { token: next })).status).toBe(200);
      });
      expect((await demo.call('get', '/secrets')).status).toBe(401);
      const restored = await demo.call('post', '/secrets/ADMIN_TOKEN/rotate', {
        token: next,
        body: { value: demo.env.ADMIN_TOKEN },
      });
      expect(restored.status).toBe(200);
      await eventually(async () => {
        expect((await demo.call('get', '/secrets')).status).toBe(200);
      });
    });
  });
});
