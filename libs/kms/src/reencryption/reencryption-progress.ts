import type { Logger } from '@nestjs/common';
import { KMS_EVENTS } from '../kms.messages.js';

const PROGRESS_LOG_EVERY_MS = 1_000;

/** How far a run has come, reported after every batch it writes. */
export interface ReencryptionProgress {
  /** `table.column` being worked on. */
  readonly column: string;
  /** Envelopes moved so far, over every column. */
  readonly moved: number;
  /** Envelopes that could not be opened (left as they are), so far. */
  readonly failed: number;
  /** Envelopes under retired keys when the run began. */
  readonly total: number;
  readonly envelopesPerSecond: number;
}

/**
 * One run's counts, progress reports and its write in flight: a batch's write runs while the
 * next batch is read and rewrapped (Postgres: on another connection, so the database and this
 * process work at once). One write at a time, in order; a failed write fails the run.
 */
export class ReencryptionProgressTracker {
  moved = 0;
  failed = 0;
  private loggedAt: number;
  private writing: Promise<void> | undefined;

  constructor(
    /** When the run began (`performance.now()`). */
    private readonly began: number,
    private readonly total: number,
    private readonly logger: Logger,
    private readonly onProgress: ((progress: ReencryptionProgress) => void) | undefined,
  ) {
    this.loggedAt = began;
  }

  /**
   * Starts `write` (which resolves to the envelopes it moved) once the previous write is done,
   * and reports the batch when it is.
   */
  async write(column: string, write: () => Promise<number>): Promise<void> {
    await this.writing;
    this.writing = write().then((moved) => this.report(column, moved));
    // Handled here so that a failed write is not reported unhandled before it is awaited.
    this.writing.catch(() => undefined);
  }

  /** Waits for the write in flight; rejects if it failed. */
  async written(): Promise<void> {
    await this.writing;
  }

  /** Waits for the write in flight, whatever its outcome: no write outlives the run. */
  async settled(): Promise<void> {
    await this.writing?.catch(() => undefined);
  }

  elapsedMs(): number {
    return performance.now() - this.began;
  }

  rate(): number {
    const seconds = this.elapsedMs() / 1000;
    return seconds > 0 ? Math.round(this.moved / seconds) : 0;
  }

  private report(column: string, moved: number): void {
    this.moved += moved;
    const progress = {
      column,
      moved: this.moved,
      failed: this.failed,
      total: this.total,
      envelopesPerSecond: this.rate(),
    };
    this.onProgress?.(progress);
    if (performance.now() - this.loggedAt >= PROGRESS_LOG_EVERY_MS) {
      this.loggedAt = performance.now();
      this.logger.log({ event: KMS_EVENTS.reencryptionProgress, ...progress });
    }
  }
}
