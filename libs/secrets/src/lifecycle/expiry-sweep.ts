import { Logger } from '@nestjs/common';
import { SECRETS_EVENTS } from '../secrets.messages.js';
import type { SecretsMetrics } from '../secrets-metrics.js';
import type { LifecycleStore } from './lifecycle.store.js';
import type { SecretsLifecycleReport } from './secret-rotator.interface.js';

/** Secrets marked reported per statement; a sweep repeats until fewer come back. */
const SWEEP_BATCH = 500;

/**
 * Logs secret_expired once per expired secret across all replicas: a secret is logged by the
 * replica whose claim on its row won. A new version of the secret clears the claim.
 */
export class ExpirySweep {
  private readonly logger = new Logger('SecretsLifecycle');
  /** Secrets this instance reported since it started. */
  reported = 0;

  constructor(
    private readonly store: LifecycleStore,
    private readonly clock: () => number,
    private readonly metrics: SecretsMetrics,
  ) {}

  async run(report: SecretsLifecycleReport): Promise<void> {
    for (;;) {
      const batch = await this.store.claimExpired(this.clock(), SWEEP_BATCH);
      for (const secret of batch) {
        this.reported++;
        this.metrics.expiredSecrets.inc();
        report.expired.push(secret.name);
        this.logger.warn({
          event: SECRETS_EVENTS.expired,
          name: secret.name,
          version: secret.version,
          expiredAt: new Date(secret.expiresAt).toISOString(),
        });
      }
      if (batch.length < SWEEP_BATCH) return;
    }
  }
}
