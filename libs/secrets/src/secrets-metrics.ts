import { Counter, Gauge } from 'prom-client';
import type { KmsMetrics } from '@nest-kms/kms';

/** The secrets library's metrics, in the KMS registry (KmsMetrics.registry). */
export class SecretsMetrics {
  readonly expiredSecrets: Counter<never>;
  readonly autoRotations: Counter<'outcome'>;

  constructor(kms: KmsMetrics, cacheHitRate: () => number) {
    const registers = [kms.registry];
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
