import { ENGINES } from './support/databases.js';
import {
  demoForSuite,
  query,
  uniqueName,
  type DemoCall,
  type HttpMethod,
} from './support/demo-app.js';
import { DemoTranscript } from './support/demo-transcript.js';
import { eventually } from './support/eventually.js';

/**
 * Values the demo hands to SQL are checked against what the columns hold, the same on SQLite
 * and Postgres: an int4 version, text without NUL, names the store's pattern allows.
 */
describe.each(ENGINES)('demo: column limits on %s', (engine) => {
  const transcript = new DemoTranscript();
  const demo = demoForSuite(engine, transcript);

  async function putSecret(name: string, body: Record<string, unknown>) {
    const response = await demo.call('put', `/secrets/${encodeURIComponent(name)}`, { body });
    expect(response.status).toBe(200);
  }

  const storeLimits: [string, HttpMethod, string, DemoCall, string][] = [
    ['a version over int4', 'get', '/secrets/ADMIN_TOKEN?version=2147483648', {}, 'version'],
    ['a version of 2^53', 'get', '/secrets/ADMIN_TOKEN?version=9007199254740992', {}, 'version'],
    [
      'a NUL in a description',
      'put',
      '/secrets/NEW_ONE',
      { body: { value: 'v', description: 'a\u0000b' } },
      'description',
    ],
    [
      'a lone surrogate in a description',
      'put',
      '/secrets/NEW_ONE',
      { body: { value: 'v', description: '\ud800' } },
      'description',
    ],
    [
      'a description over 1024 characters',
      'put',
      '/secrets/NEW_ONE',
      { body: { value: 'v', description: 'd'.repeat(1025) } },
      'description',
    ],
    ['a NUL in a name', 'get', '/secrets/a%00b', {}, 'name'],
    ['a NUL in a name to store', 'put', '/secrets/a%00b', { body: { value: 'v' } }, 'name'],
    ['a name of dots', 'delete', '/secrets/..', {}, 'name'],
    [
      'an encoded traversal',
      'post',
      '/secrets/..%2F..%2Fx/rotate',
      { body: { value: 'v' } },
      'name',
    ],
  ];
  it.each(storeLimits)(
    'refuses %s before it reaches the database, naming the field',
    async (_, method, path, call, field) => {
      const response = await demo.call(method, path, call);
      expect(response.status).toBe(400);
      expect(response.body).toEqual({
        code: 'VALIDATION_FAILED',
        message: expect.any(String),
        problems: [{ field, rules: [expect.any(String)] }],
      });
    },
  );

  it('keeps the audit trail whole around refused out-of-range input', async () => {
    const name = uniqueName('AFTER');
    await putSecret(name, { value: transcript.value('after') });
    await demo.call('get', '/secrets/ADMIN_TOKEN?version=2147483648');
    await demo.call('get', '/secrets/a%00b');
    const read = await demo.call('get', `/secrets/${name}`, { reveals: true });
    expect(read.status).toBe(200);
    await eventually(async () => {
      const reads = await query(
        demo.dataSource,
        "SELECT 1 FROM kms_secret_audit WHERE secret_name = ? AND action = 'read'",
        [name],
      );
      expect(reads).toHaveLength(1);
    });
  });
});
