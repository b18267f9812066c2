import type { Metric, Registry } from 'prom-client';

interface HistogramSample {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

interface HistogramObject {
  name: string;
  help: string;
  type: 'histogram';
  aggregator: 'sum';
  values: HistogramSample[];
}

/**
 * A Prometheus histogram without labels for a hot path: observe() finds the bucket and adds into
 * typed arrays, with no label hashing and no object built. The registry reads the totals only
 * when scraped, through get(), and prints the same lines a prom-client Histogram with the same
 * name, help and buckets would (`_bucket` with `le`, `_sum`, `_count`).
 */
export class BucketHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly bounds: Float64Array;
  /** Observations per bucket, not cumulative; the last is above every bound (+Inf). */
  private counts: Float64Array;
  private sum = 0;
  /** After reset(), as a prom-client Histogram: no samples at all until the next observation. */
  private cleared = false;

  /** `buckets`: the upper bounds, ascending, as prom-client takes them. */
  constructor(
    readonly name: string,
    readonly help: string,
    buckets: readonly number[],
    registers: readonly Registry[],
  ) {
    this.bounds = Float64Array.from(buckets);
    // Float64, not Uint32: a counter must not wrap at 4 billion observations.
    this.counts = new Float64Array(this.bounds.length + 1);
    // The registry reads a metric only through name, type, help, get() and reset(), which this
    // class has; prom-client's types name only its own classes.
    for (const registry of registers) registry.registerMetric(this as unknown as Metric);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let bucket = 0;
    // `le` is inclusive, as in prom-client: a value equal to a bound counts in that bucket.
    while (bucket < bounds.length && value > bounds[bucket]) bucket++;
    this.counts[bucket]++;
    this.sum += value;
  }

  /** The samples in the shape prom-client's registry serialises: cumulative buckets, then sum and count. */
  get(): Promise<HistogramObject> {
    const bucketName = `${this.name}_bucket`;
    const values: HistogramSample[] = [];
    let cumulative = 0;
    for (const count of this.counts) cumulative += count;
    if (this.cleared && cumulative === 0) return this.answer(values);
    cumulative = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      cumulative += this.counts[i];
      values.push({ metricName: bucketName, labels: { le: this.bounds[i] }, value: cumulative });
    }
    const count = cumulative + this.counts[this.bounds.length];
    values.push(
      { metricName: bucketName, labels: { le: '+Inf' }, value: count },
      { metricName: `${this.name}_sum`, labels: {}, value: this.sum },
      { metricName: `${this.name}_count`, labels: {}, value: count },
    );
    return this.answer(values);
  }

  reset(): void {
    this.counts = new Float64Array(this.bounds.length + 1);
    this.sum = 0;
    this.cleared = true;
  }

  private answer(values: HistogramSample[]): Promise<HistogramObject> {
    const { name, help, type, aggregator } = this;
    return Promise.resolve({ name, help, type, aggregator, values });
  }
}
