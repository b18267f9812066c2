import type { SchedulerRegistry } from '@nestjs/schedule';
import { LifecycleInterval } from '@nest-kms/kms/extension';
import type { AutoRotation } from './auto-rotation.js';
import type { ExpirySweep } from './expiry-sweep.js';
import type { SecretsLifecycleReport } from './secret-rotator.interface.js';

/** Name of the secrets lifecycle job in the SchedulerRegistry. */
export const SECRETS_LIFECYCLE_JOB = 'nest-kms.secrets-lifecycle';

/**
 * The secrets lifecycle job: the expiry sweep, then due automatic rotations. The timer and
 * SecretsService.runLifecycle() share one run at a time.
 */
export class SecretsLifecycle {
  private readonly interval: LifecycleInterval;
  private running: Promise<SecretsLifecycleReport> | undefined;
  private stopped = false;

  constructor(
    registry: SchedulerRegistry,
    private readonly sweep: ExpirySweep,
    private readonly rotation: AutoRotation,
  ) {
    this.interval = new LifecycleInterval(registry, SECRETS_LIFECYCLE_JOB, async () => {
      await this.run();
    });
  }

  /** Runs the job every `everyMs` (0: only on demand). */
  start(everyMs: number): void {
    this.interval.start(everyMs);
  }

  /** Runs the job now, or joins the run under way. After stop(), does nothing. */
  run(): Promise<SecretsLifecycleReport> {
    this.running ??= this.tick().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Stops the timer and waits for a run under way (which starts no further rotation). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.rotation.stop();
    await this.interval.stop();
    await this.running?.catch(() => undefined);
  }

  counters(): {
    expiredSecretsReported: number;
    autoRotations: number;
    autoRotationFailures: number;
  } {
    return {
      expiredSecretsReported: this.sweep.reported,
      autoRotations: this.rotation.rotations,
      autoRotationFailures: this.rotation.failures,
    };
  }

  private async tick(): Promise<SecretsLifecycleReport> {
    const report: SecretsLifecycleReport = { expired: [], rotated: [], failed: [] };
    if (this.stopped) return report;
    await this.sweep.run(report);
    await this.rotation.run(report);
    return report;
  }
}
