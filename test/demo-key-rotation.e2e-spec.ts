import { ENGINES } from './support/databases.js';
import { demoForSuite } from './support/demo-app.js';
import { DemoTranscript } from './support/demo-transcript.js';
import { expectOneRotationChain } from './support/rotation-chain.js';

/** POST /keys/rotate answers with the key each request's own rotation retired. */
describe.each(ENGINES)('demo: concurrent POST /keys/rotate on %s', (engine) => {
  const transcript = new DemoTranscript();
  const demo = demoForSuite(engine, transcript);

  it('30 requests at once: each previousKeyId is the key that request retired', async () => {
    const before = await demo.call('get', '/status');
    expect(before.status).toBe(200);
    const first = before.body.kmsStatus.activeKeyId as string;

    const responses = await Promise.all(
      Array.from({ length: 30 }, () => demo.call('post', '/keys/rotate')),
    );
    expect(responses.map((response) => response.status)).toEqual(Array(30).fill(200));
    const chain = expectOneRotationChain(
      first,
      responses.map((response) => response.body),
    );

    const after = await demo.call('get', '/status');
    expect(after.body.kmsStatus.activeKeyId).toBe(chain.at(-1));
  });
});
