import { Logger } from '@nestjs/common';
import type { SchedulerRegistry } from '@nestjs/schedule';
import { NestKmsError } from '../errors/nest-kms.error.js';

/**
 * A background job on a fixed interval, registered in @nestjs/schedule's SchedulerRegistry under
 * `name` (so the app can see or pause it) with its interval from module options, not from a
 * decorator. A tick never overlaps the previous one, a failing tick is logged and the next one
 * runs, and the timer never keeps the process alive.
 */
export class LifecycleInterval {
  private readonly logger: Logger;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly registry: SchedulerRegistry,
    readonly name: string,
    private readonly task: () => Promise<void>,
  ) {
    this.logger = new Logger(name);
  }

  /** Starts ticking every `everyMs`; 0 leaves the job off (tick() still runs it on demand). */
  start(everyMs: number): void {
    if (everyMs <= 0 || this.timer !== undefined) return;
    this.timer = setInterval(() => void this.tick(), everyMs);
    this.timer.unref();
    if (this.registry.doesExist('interval', this.name)) this.registry.deleteInterval(this.name);
    this.registry.addInterval(this.name, this.timer);
  }

  /** Runs the task now, or joins the run already under way. Never rejects: failures are logged. */
  tick(): Promise<void> {
    this.running ??= this.task()
      .catch((error: unknown) => {
        // Only our own messages are known to carry no value; others are named, not quoted.
        this.logger.error({
          event: 'lifecycle_job_failed',
          job: this.name,
          code: (error as { code?: unknown } | null)?.code ?? null,
          error: error instanceof NestKmsError ? error.message : (error as Error | null)?.name,
        });
      })
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  /** Stops the timer and waits for a tick under way. */
  async stop(): Promise<void> {
    if (this.timer !== undefined) {
      clearInterval(this.timer);
      if (this.registry.doesExist('interval', this.name)) this.registry.deleteInterval(this.name);
      this.timer = undefined;
    }
    await this.running;
  }
}
