import { Histogram, Registry } from 'prom-client';
import { BucketHistogram } from './bucket-histogram.js';

const BUCKETS = [0.000_005, 0.000_05, 0.000_25, 0.001, 0.005, 0.025, 0.1, 0.5];

/** The same observations into BucketHistogram and into prom-client's Histogram. */
function pair(defaultLabels?: Record<string, string>) {
  const ours = new Registry();
  const theirs = new Registry();
  if (defaultLabels) {
    ours.setDefaultLabels(defaultLabels);
    theirs.setDefaultLabels(defaultLabels);
  }
  const config = { name: 'latency_seconds', help: 'Seconds per call' };
  const bucketed = new BucketHistogram(config.name, config.help, BUCKETS, [ours]);
  const reference = new Histogram({ ...config, buckets: BUCKETS, registers: [theirs] });
  return {
    ours,
    theirs,
    observe(value: number) {
      bucketed.observe(value);
      reference.observe(value);
    },
    reset() {
      ours.resetMetrics();
      theirs.resetMetrics();
    },
  };
}

describe('BucketHistogram', () => {
  it('scrapes exactly as a prom-client Histogram with the same buckets, bounds and sums included', async () => {
    const { ours, theirs, observe } = pair();
    expect(await ours.metrics()).toBe(await theirs.metrics());
    // Every bound itself (le is inclusive), 0, and values above the last bound.
    for (const value of [0, ...BUCKETS, 0.7, 12]) observe(value);
    let seed = 7;
    for (let i = 0; i < 5_000; i++) {
      seed = (seed * 48_271) % 2_147_483_647;
      observe((seed / 2_147_483_647) ** 4);
    }
    const text = await ours.metrics();
    expect(text).toBe(await theirs.metrics());
    expect(text).toContain('latency_seconds_bucket{le="0.000005"} ');
    expect(text).toContain('latency_seconds_count 5011');
  });

  it('counts and sums exactly, and starts again from zero after resetMetrics()', async () => {
    const { ours, theirs, observe, reset } = pair({ app: 'demo' });
    observe(0.000_001);
    observe(0.000_005);
    observe(0.002);
    observe(3);
    const text = await ours.metrics();
    expect(text).toBe(await theirs.metrics());
    for (const line of [
      'latency_seconds_bucket{le="0.000005",app="demo"} 2',
      'latency_seconds_bucket{le="0.001",app="demo"} 2',
      'latency_seconds_bucket{le="0.005",app="demo"} 3',
      'latency_seconds_bucket{le="0.5",app="demo"} 3',
      'latency_seconds_bucket{le="+Inf",app="demo"} 4',
      `latency_seconds_sum{app="demo"} ${0.000_001 + 0.000_005 + 0.002 + 3}`,
      'latency_seconds_count{app="demo"} 4',
    ]) {
      expect(text).toContain(`\n${line}\n`);
    }
    reset();
    expect(await ours.metrics()).toBe(await theirs.metrics());
    observe(0.03);
    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(await ours.metrics()).toContain('\nlatency_seconds_count{app="demo"} 1\n');
  });

  it('reads as a histogram in the registry JSON, as the cluster aggregator needs', async () => {
    const { ours, theirs, observe } = pair();
    observe(0.01);
    const [json] = await ours.getMetricsAsJSON();
    const [reference] = await theirs.getMetricsAsJSON();
    expect(json).toMatchObject({ name: reference.name, type: 'histogram', aggregator: 'sum' });
    const strip = (values: { labels: object; value: number; metricName?: string }[]) =>
      values.map(({ labels, value, metricName }) => ({ labels, value, metricName }));
    expect(strip(json.values)).toEqual(strip(reference.values));
  });
});
