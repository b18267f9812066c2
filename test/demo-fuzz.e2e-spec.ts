import { Agent, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ENGINES } from './support/databases.js';
import { demoForSuite } from './support/demo-app.js';
import { DemoCallers } from './support/demo-callers.js';
import { fuzzRequests, type FuzzRequest } from './support/demo-fuzz-requests.js';
import { DemoTranscript } from './support/demo-transcript.js';

const SEED = 20_260_105;
const REQUESTS_PER_PASS = 800;
/** One pass to warm up, then two over which memory is measured. */
const PASSES = 3;
/** Generous: a leak of a few KB per request would pass it by far over two passes. */
const RSS_GROWTH_LIMIT_BYTES = 96 * 1024 * 1024;
const MAX_ERROR_BODY_CHARS = 4_096;

interface Answer {
  status: number;
  text: string;
}

/**
 * A bounded, seeded fuzz of every endpoint with malformed requests (content types, broken,
 * huge and deep JSON, odd names with NUL, `..` and percent-encoding, oversized headers,
 * garbage tokens, with and without valid ones): never a 5xx, never a stack trace, every error
 * a short `{ code, message }`, and memory flat from pass to pass.
 */
describe.each(ENGINES)('demo: fuzzed requests on %s', (engine) => {
  const transcript = new DemoTranscript();
  const demo = demoForSuite(engine, transcript);
  const callers = new DemoCallers(demo, transcript);
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  let port: number;

  beforeAll(async () => {
    const server = demo.app.getHttpServer() as Server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => agent.destroy());

  function send(fuzz: FuzzRequest, tokens: Record<string, string>): Promise<Answer> {
    const authorization = {
      none: undefined,
      admin: `Bearer ${tokens.admin}`,
      caller: `Bearer ${tokens.caller}`,
      garbage: `Bearer ${fuzz.garbage}`,
      basic: `Basic ${fuzz.garbage}`,
      oversized: `Bearer ${'g'.repeat(20_000)}`,
    }[fuzz.credential];
    const headers: Record<string, string> = {};
    if (authorization !== undefined) headers.authorization = authorization;
    if (fuzz.contentType !== undefined) headers['content-type'] = fuzz.contentType;
    const options = {
      host: '127.0.0.1',
      port,
      agent,
      method: fuzz.method,
      path: fuzz.path,
      headers,
    };
    return new Promise((resolve, reject) => {
      const outgoing = httpRequest(options, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        response.on('error', reject);
      });
      outgoing.on('error', reject);
      outgoing.end(fuzz.body);
    });
  }

  function problemOf(fuzz: FuzzRequest, answer: Answer): string | undefined {
    const label = `${fuzz.method} ${fuzz.path.slice(0, 80)} (${fuzz.credential}) → ${answer.status}`;
    if (answer.status >= 500) return `${label}: a server error ${answer.text.slice(0, 200)}`;
    if (answer.text.includes('    at ')) return `${label}: a stack trace`;
    if (answer.status < 400) return undefined;
    if (answer.text.length > MAX_ERROR_BODY_CHARS) return `${label}: ${answer.text.length} chars`;
    try {
      const body = JSON.parse(answer.text) as { code?: unknown; message?: unknown };
      if (typeof body.code !== 'string' || !/^[A-Z][A-Z0-9_]*$/.test(body.code)) {
        return `${label}: no stable code`;
      }
      if (typeof body.message !== 'string') return `${label}: no message`;
    } catch {
      return `${label}: not JSON`;
    }
    return undefined;
  }

  it('answers every malformed request with a 4xx code, never a 5xx, and stays flat', async () => {
    const tokens = { admin: demo.env.ADMIN_TOKEN as string, caller: await callers.token('fuzz') };
    const sealed = await demo.call('post', '/encrypt', {
      token: tokens.caller,
      body: { plaintext: 'fuzz' },
    });
    expect(sealed.status).toBe(200);
    const requests = fuzzRequests(SEED, REQUESTS_PER_PASS, JSON.stringify(sealed.body.envelope));
    const problems: string[] = [];
    const statuses = new Set<number>();
    const rss: number[] = [];
    for (let pass = 0; pass < PASSES; pass++) {
      for (const fuzz of requests) {
        const answer = await send(fuzz, tokens);
        statuses.add(answer.status);
        const problem = problemOf(fuzz, answer);
        if (problem !== undefined && problems.length < 20) problems.push(problem);
      }
      rss.push(process.memoryUsage().rss);
    }
    expect(problems).toEqual([]);
    // The fuzz reached handlers, validation and the parsers' refusals alike.
    expect([...statuses]).toEqual(expect.arrayContaining([200, 400, 401, 404, 413, 415, 422, 431]));
    expect(rss[PASSES - 1] - rss[0]).toBeLessThan(RSS_GROWTH_LIMIT_BYTES);
    const health = await demo.call('get', '/health', { token: null });
    expect(health.status).toBe(200);
  });
});
