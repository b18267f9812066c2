import { Counter, Gauge } from 'prom-client';
import type { KmsMetrics } from '@nest-kms/kms';
import { AuditMetrics } from './audit/audit-metrics.js';
import { BucketHistogram } from './bucket-histogram.js';

/** The secrets library's metrics, in the KMS registry (KmsMetrics.registry). */
export class SecretsMetrics {
  readonly expiredSecrets: Counter<never>;
  readonly autoRotations: Counter<'outcome'>;
  /** Seconds per getSecret call: counted into typed arrays, read by the registry when scraped. */
  readonly retrievalLatency: BucketHistogram;
  readonly audit: AuditMetrics;

  constructor(kms: KmsMetrics, cacheHitRate: () => number) {
    const registers = [kms.registry];
    this.audit = new AuditMetrics(registers);
    this.expiredSecrets = new Counter({
      name: 'secrets_expired_total',
      help: 'Expired secrets this replica reported (each expired secret is reported once across replicas)',
      registers,
    });
    this.autoRotations = new Counter({
      name: 'secret_auto_rotations_total',
      help: 'Automatic secret rotations by this replica: succeeded, or failed (value left in place)',
      labelNames: ['outcome'] as const,
      registers,
    });
    this.retrievalLatency = new BucketHistogram(
      'secret_retrieval_latency',
      'Seconds each getSecret call took (cache hits, misses and refusals alike)',
      // A hit takes about a microsecond, a miss tens to hundreds of them.
      [0.000_005, 0.000_05, 0.000_25, 0.001, 0.005, 0.025, 0.1, 0.5],
      registers,
    );
    new Gauge({
      name: 'secret_cache_hit_rate',
      help: 'Share of getSecret calls answered from the cache since start (0 to 1)',
      registers,
      collect() {
        this.set(cacheHitRate());
      },
    });
  }
}
