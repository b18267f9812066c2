import { KmsMetrics } from '@nest-kms/kms';
import { SecretNotFoundError, InvalidSecretInputError } from '@nest-kms/secrets';
import { caught } from './support/caught.js';
import { ENGINES, type TestDatabase } from './support/databases.js';
import { newMasterKey } from './support/kms-fixture.js';
import { createMigratedTestDatabase } from './support/migrated-databases.js';
import { startSecretsApp, type SecretsApp } from './support/secrets-fixture.js';

/** The buckets of secret_retrieval_latency, as every release has exported them. */
const BUCKETS = ['0.000005', '0.00005', '0.00025', '0.001', '0.005', '0.025', '0.1', '0.5'];

interface LatencySamples {
  help: string;
  type: string;
  buckets: [le: string, count: number][];
  sum: number;
  count: number;
  /** Every line of the metric, in order, without the values. */
  shape: string[];
}

/** secret_retrieval_latency as the registry's text shows it to a Prometheus scrape. */
function latencyIn(text: string): LatencySamples {
  const lines = text
    .split('\n')
    .filter((line) => /^(# \w+ )?secret_retrieval_latency[_ {]/.test(line));
  const value = (line: string | undefined): number => Number(line?.split(' ').at(-1));
  const buckets = lines
    .filter((line) => line.startsWith('secret_retrieval_latency_bucket'))
    .map((line): [string, number] => [/le="([^"]+)"/.exec(line)![1], value(line)]);
  return {
    help: lines.find((line) => line.startsWith('# HELP'))!,
    type: lines.find((line) => line.startsWith('# TYPE'))!,
    buckets,
    sum: value(lines.find((line) => line.startsWith('secret_retrieval_latency_sum '))),
    count: value(lines.find((line) => line.startsWith('secret_retrieval_latency_count '))),
    shape: lines.map((line) =>
      line.startsWith('#') ? line : line.slice(0, line.lastIndexOf(' ')),
    ),
  };
}

describe.each(ENGINES)('secret_retrieval_latency on %s', (engine) => {
  let db: TestDatabase;
  let app: SecretsApp;

  beforeEach(async () => {
    db = await createMigratedTestDatabase(engine);
    app = await startSecretsApp(db, {
      masterKey: newMasterKey(),
      secrets: { audit: { flushIntervalMs: 3_600_000, sealIntervalMs: 0 } },
    });
  });

  afterEach(async () => {
    await app.close();
    await db.drop();
  });

  const scrape = async (): Promise<LatencySamples> =>
    latencyIn(await app.app.get(KmsMetrics).registry.metrics());

  it('exports the same lines as before, with no observation yet', async () => {
    const latency = await scrape();
    expect(latency.help).toBe(
      '# HELP secret_retrieval_latency Seconds each getSecret call took (cache hits, misses and refusals alike)',
    );
    expect(latency.type).toBe('# TYPE secret_retrieval_latency histogram');
    expect(latency.shape.slice(2)).toEqual([
      ...BUCKETS.map((le) => `secret_retrieval_latency_bucket{le="${le}"}`),
      'secret_retrieval_latency_bucket{le="+Inf"}',
      'secret_retrieval_latency_sum',
      'secret_retrieval_latency_count',
    ]);
    expect(latency.buckets.every(([, count]) => count === 0)).toBe(true);
    expect([latency.sum, latency.count]).toEqual([0, 0]);
  });

  it('counts every getSecret, hit, miss or refused, and sums no more than the calls took', async () => {
    const { secrets } = app;
    await secrets.setSecret('API_KEY', 'v1-value');
    await secrets.rotateSecret('API_KEY', 'v2-value');
    let outside = 0;
    const timed = async <T>(call: () => Promise<T>): Promise<T> => {
      const started = performance.now();
      try {
        return await call();
      } finally {
        outside += (performance.now() - started) / 1000;
      }
    };

    expect(await timed(() => secrets.getSecret('API_KEY'))).toBe('v2-value'); // miss
    for (let i = 0; i < 5; i++) {
      expect(await timed(() => secrets.getSecret('API_KEY', { actor: 'svc' }))).toBe('v2-value');
    }
    expect(await timed(() => secrets.getSecret('API_KEY', { version: 1 }))).toBe('v1-value');
    expect(await timed(() => caught(() => secrets.getSecret('MISSING')))).toBeInstanceOf(
      SecretNotFoundError,
    );
    const badActor = { actor: 'x'.repeat(500) };
    expect(await timed(() => caught(() => secrets.getSecret('API_KEY', badActor)))).toBeInstanceOf(
      InvalidSecretInputError,
    );
    const status = await secrets.getStatus();
    expect([status.cacheHits, status.cacheMisses]).toEqual([5, 2]);

    const latency = await scrape();
    expect(latency.count).toBe(9);
    const counts = latency.buckets.map(([, count]) => count);
    expect(latency.buckets.map(([le]) => le)).toEqual([...BUCKETS, '+Inf']);
    // Cumulative: never decreasing, and +Inf holds every call.
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    expect(counts.at(-1)).toBe(9);
    expect(latency.sum).toBeGreaterThan(0);
    expect(latency.sum).toBeLessThanOrEqual(outside);

    // Scraping reads the totals; it does not take them.
    expect((await scrape()).count).toBe(9);
    await secrets.getSecret('API_KEY');
    expect((await scrape()).count).toBe(10);
  });
});
