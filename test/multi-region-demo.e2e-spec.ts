import { DemoCallers } from './support/demo-callers.js';
import {
  demoEnvironment,
  removeDataDir,
  startDemoApp,
  uniqueName,
  type DemoTestApp,
} from './support/demo-app.js';
import { DemoTranscript } from './support/demo-transcript.js';
import { eventually } from './support/eventually.js';
import {
  clusterDatabase,
  createDatabase,
  pauseSubscription,
  pgClustersAvailable,
  replicateKmsTables,
  resumeSubscription,
  startPgCluster,
  type PgCluster,
} from './support/pg-clusters.js';

/*
 * The demo in two regions: demo A on cluster A seeds its secrets on its first start (the admin
 * token, the generated HMAC keys); cluster B receives the nest-kms tables by logical
 * replication, and demo B starts there as a replica (KMS_REGION_ROLE=replica). B serves reads
 * and decryption, and answers writes 409 naming where to send them.
 */

const PRIMARY = 'https://demo.region-a.example';

/** `demo` sending `token` (the admin token region A stored) unless a call names its own. */
function withAdminToken(demo: DemoTestApp, token: string): DemoTestApp {
  return {
    ...demo,
    call: (method, path, options = {}) => demo.call(method, path, { token, ...options }),
  };
}
const SUBSCRIPTION = 'nest_kms_from_demo_a';

describe.skipIf(!pgClustersAvailable)('the demo in a replica region', () => {
  const transcript = new DemoTranscript();
  let clusterA: PgCluster | undefined;
  let clusterB: PgCluster | undefined;
  let urlA: string;
  let urlB: string;
  let demoA: DemoTestApp;
  let demoB: DemoTestApp;
  let callersA: DemoCallers;
  let callersB: DemoCallers;
  const started: DemoTestApp[] = [];

  beforeAll(async () => {
    [clusterA, clusterB] = await Promise.all([startPgCluster(), startPgCluster()]);
    [urlA, urlB] = await Promise.all([
      createDatabase(clusterA, 'demo'),
      createDatabase(clusterB, 'demo'),
    ]);
    const envA = demoEnvironment(clusterDatabase(urlA), transcript);
    demoA = await startDemoApp(envA, transcript);
    started.push(demoA);
    await replicateKmsTables(urlA, urlB, {
      publication: 'nest_kms_demo_a',
      subscription: SUBSCRIPTION,
    });
    // The same master key; the admin token only from the replicated secret: no ADMIN_TOKEN in
    // B's environment, and nothing B could store.
    const replica = await startDemoApp(replicaEnvironment(urlB), transcript);
    started.push(replica);
    demoB = withAdminToken(replica, envA.ADMIN_TOKEN!);
    callersA = new DemoCallers(demoA, transcript);
    callersB = new DemoCallers(demoB, transcript);
  });

  afterAll(async () => {
    try {
      for (const demo of started.splice(0).toReversed()) {
        await demo.close();
        removeDataDir(demo.env);
      }
    } finally {
      await clusterB?.stop();
      await clusterA?.stop();
    }
    transcript.assertNoLeaks();
  });

  const replicaEnvironment = (url: string) =>
    demoEnvironment(clusterDatabase(url), transcript, {
      KMS_MASTER_KEY: demoA.env.KMS_MASTER_KEY,
      ADMIN_TOKEN: undefined,
      KMS_REGION_ROLE: 'replica',
      KMS_REGION_PRIMARY: PRIMARY,
    });

  it('serves the secrets, caller tokens and envelopes of region A', async () => {
    const name = uniqueName('replicated');
    const value = transcript.value('set-in-region-a');
    expect((await demoA.call('put', `/secrets/${name}`, { body: { value } })).status).toBe(200);
    const read = await eventually(async () => {
      const response = await demoB.call('get', `/secrets/${name}`, { reveals: true });
      expect(response.status).toBe(200);
      return response;
    });
    expect(read.body.value).toBe(value);

    // A caller token A issued is good in B (its key is a replicated secret), and the reverse.
    const plaintext = transcript.value('sealed-in-region-a');
    const envelope = await callersA.encrypt(plaintext);
    const opened = await callersB.decrypt({ envelope });
    expect(opened.status).toBe(200);
    expect(opened.body.plaintext).toBe(plaintext);
    const sealedInB = await callersB.encrypt(transcript.value('sealed-in-region-b'));
    expect((await callersA.decrypt({ envelope: sealedInB })).status).toBe(200);
  });

  it('answers writes 409 KMS_REGION_READ_ONLY naming the primary, and writes nothing', async () => {
    const name = uniqueName('kept');
    const value = transcript.value('kept-value');
    expect((await demoA.call('put', `/secrets/${name}`, { body: { value } })).status).toBe(200);
    await eventually(async () =>
      expect((await demoB.call('get', `/secrets/${name}`, { reveals: true })).status).toBe(200),
    );
    const before = (await demoB.call('get', '/status')).body.kmsStatus.activeKeyId;
    const writes: [string, () => ReturnType<DemoTestApp['call']>][] = [
      [
        'PUT /secrets/:name',
        () =>
          demoB.call('put', `/secrets/${name}`, {
            body: { value: transcript.value('written-in-b') },
          }),
      ],
      [
        'POST /secrets/:name/rotate',
        () =>
          demoB.call('post', `/secrets/${name}/rotate`, {
            body: { value: transcript.value('rotated-in-b') },
          }),
      ],
      ['DELETE /secrets/:name', () => demoB.call('delete', `/secrets/${name}`)],
      ['POST /keys/rotate', () => demoB.call('post', '/keys/rotate')],
    ];
    for (const [request, write] of writes) {
      const response = await write();
      expect(response.status, request).toBe(409);
      expect(response.body, request).toMatchObject({
        code: 'KMS_REGION_READ_ONLY',
        primary: PRIMARY,
      });
      expect(response.body.message, request).toContain(PRIMARY);
    }
    const read = await demoB.call('get', `/secrets/${name}`, { reveals: true });
    expect(read.body.value).toBe(value);
    const after = (await demoB.call('get', '/status')).body.kmsStatus.activeKeyId;
    expect(after).toBe(before);
  });

  it('answers 503 with Retry-After for an envelope under a key B has not received, and 200 once it arrives', async () => {
    await pauseSubscription(urlB, SUBSCRIPTION);
    try {
      const rotated = await demoA.call('post', '/keys/rotate');
      expect(rotated.status).toBe(200);
      const plaintext = transcript.value('sealed-ahead-of-its-key');
      const envelope = await callersA.encrypt(plaintext);

      const refused = await callersB.decrypt({ envelope });
      expect(refused.status).toBe(503);
      expect(refused.headers['retry-after']).toBe('1');
      expect(refused.body).toMatchObject({
        code: 'KMS_DATA_KEY_NOT_REPLICATED',
        message: expect.stringContaining(rotated.body.keyId),
      });

      await resumeSubscription(urlB, SUBSCRIPTION);
      const opened = await eventually(async () => {
        const response = await callersB.decrypt({ envelope });
        expect(response.status).toBe(200);
        return response;
      });
      expect(opened.body.plaintext).toBe(plaintext);
    } finally {
      await resumeSubscription(urlB, SUBSCRIPTION);
    }
  });

  const refusedStart = async (url: string): Promise<Error & { code?: string }> => {
    const env = replicaEnvironment(url);
    try {
      return await startDemoApp(env, transcript).then(
        (demo) => {
          started.push(demo);
          throw new Error('the replica demo started');
        },
        (refused: Error) => refused,
      );
    } finally {
      removeDataDir(env);
    }
  };

  it('refuses to start a replica whose database has no keyring yet, naming the primary', async () => {
    const error = await refusedStart(await createDatabase(clusterB!, 'demo_not_replicated'));
    expect(error.code).toBe('KMS_REGION_READ_ONLY');
    expect(error.message).toContain(PRIMARY);
  });

  it("refuses to start a replica that has the keyring but not yet the primary's seeded secrets", async () => {
    const keysOnly = await createDatabase(clusterB!, 'demo_keys_only');
    await replicateKmsTables(urlA, keysOnly, {
      publication: 'nest_kms_demo_a_keys',
      subscription: 'nest_kms_keys_from_demo_a',
      tables: ['kms_keyring', 'kms_data_keys', 'kms_master_key_wraps'],
    });
    const error = await refusedStart(keysOnly);
    expect(error.code).toBe('DEMO_REPLICA_NOT_SEEDED');
    expect(error.message).toContain(PRIMARY);
  });
});
