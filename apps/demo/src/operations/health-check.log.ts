import { Inject, Injectable, Logger } from '@nestjs/common';
import { DEMO_ENVIRONMENT, type DemoEnvironment } from '../demo-environment.js';
import { milliseconds } from './database-timeouts.js';

interface Failing {
  /** Failed checks since the outage began. */
  total: number;
  /** Failed checks since the last line logged. */
  unreported: number;
  lastLoggedAt: number;
}

/**
 * What the health checks say in the log: an orchestrator probes every second or so, and a line
 * per failed probe buries everything else during an outage. The first failure is logged at
 * once, then a count at most every HEALTH_LOG_INTERVAL_MS (default 60000), and the recovery
 * once, with the number of failed checks.
 */
@Injectable()
export class HealthCheckLog {
  private readonly logger = new Logger('HealthCheck');
  private readonly intervalMs: number;
  private failing: Failing | undefined;

  constructor(@Inject(DEMO_ENVIRONMENT) env: DemoEnvironment) {
    this.intervalMs = milliseconds(env, 'HEALTH_LOG_INTERVAL_MS') ?? 60_000;
  }

  failed(down: readonly string[]): void {
    const now = Date.now();
    if (this.failing === undefined) {
      this.failing = { total: 1, unreported: 0, lastLoggedAt: now };
      this.logger.error({ event: 'health_check_failed', down });
      return;
    }
    const failing = this.failing;
    failing.total++;
    failing.unreported++;
    if (now - failing.lastLoggedAt < this.intervalMs) return;
    this.logger.warn({
      event: 'health_check_still_failing',
      down,
      failedChecks: failing.unreported,
      failedChecksTotal: failing.total,
    });
    failing.unreported = 0;
    failing.lastLoggedAt = now;
  }

  passed(): void {
    if (this.failing === undefined) return;
    this.logger.log({ event: 'health_check_recovered', failedChecks: this.failing.total });
    this.failing = undefined;
  }
}
