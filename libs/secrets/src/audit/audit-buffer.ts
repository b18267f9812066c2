import { Logger } from '@nestjs/common';
import { DatabaseUnavailableError } from '@nest-kms/kms';
import { type KmsStorage } from '@nest-kms/kms/extension';
import type { SecretAuditEntity } from '../entities/secret-audit.entity.js';
import { SECRETS_EVENTS } from '../secrets.messages.js';
import type { AuditMetrics } from './audit-metrics.js';
import { AUDIT_INSERT_MAX_ROWS, insertAuditRows, isRecordRefusal } from './audit-insert.js';

export interface AuditBufferSettings {
  flushIntervalMs: number;
  retryIntervalMs: number;
  maxRecords: number;
}

/**
 * Read, list and backup records waiting to be written in batches. A record leaves the buffer
 * only once it is written: when the database is down, a flush keeps every record and tries
 * again after `retryIntervalMs`, for as long as the outage lasts. The buffer holds at most
 * `maxRecords`; past that, add() refuses and the caller writes its record itself (and waits).
 */
export class AuditBuffer {
  private readonly logger = new Logger('SecretsAudit');
  private rows: SecretAuditEntity[] = [];
  private timer: NodeJS.Timeout | undefined;
  private draining: Promise<void> | undefined;
  /** Since a failed flush: new records wait for the retry rather than hammer the database. */
  private failedFlushes = 0;
  private full = false;

  constructor(
    private readonly storage: KmsStorage,
    private readonly settings: AuditBufferSettings,
    private readonly metrics: AuditMetrics,
  ) {
    metrics.observeBuffer(() => this.rows.length);
  }

  /** Keeps `row` for a batched write; false when the buffer is full. */
  add(row: SecretAuditEntity): boolean {
    if (this.rows.length >= this.settings.maxRecords) {
      this.metrics.bufferFull.inc();
      if (!this.full) {
        this.full = true;
        this.logger.warn({
          event: SECRETS_EVENTS.auditBufferFull,
          bufferedRecords: this.rows.length,
          maxBufferedRecords: this.settings.maxRecords,
        });
      }
      return false;
    }
    this.rows.push(row);
    if (this.failedFlushes === 0 && this.rows.length >= AUDIT_INSERT_MAX_ROWS) void this.drain();
    else this.schedule(this.settings.flushIntervalMs);
    return true;
  }

  /** Counts a record given up because the buffer was full (a KMS security event in a flood). */
  dropped(): void {
    this.metrics.lost.inc({ reason: 'buffer_full' });
  }

  /** Writes what is buffered now; records that cannot be written stay for the retry. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    return this.drain();
  }

  /** The last flush, at shutdown: what still cannot be written is reported lost, never silently. */
  async close(): Promise<void> {
    await this.flush();
    clearTimeout(this.timer);
    this.timer = undefined;
    const lost = this.rows.splice(0).length;
    if (lost > 0) this.lost(lost, 'shutdown');
  }

  private schedule(delayMs: number): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.drain();
    }, delayMs).unref();
  }

  private drain(): Promise<void> {
    this.draining ??= this.writeAll().finally(() => (this.draining = undefined));
    return this.draining;
  }

  private async writeAll(): Promise<void> {
    let written = 0;
    while (this.rows.length > 0) {
      const batch = this.rows.slice(0, AUDIT_INSERT_MAX_ROWS);
      const failure = await this.write(batch);
      if (failure !== undefined) {
        this.failed(failure);
        return;
      }
      written += batch.length;
    }
    if (this.failedFlushes > 0) {
      this.logger.log({
        event: SECRETS_EVENTS.auditFlushRecovered,
        writtenRecords: written,
        failedFlushes: this.failedFlushes,
      });
    }
    this.failedFlushes = 0;
    this.full = false;
  }

  /**
   * Writes the first rows of the buffer and removes those it no longer needs to keep. Returns
   * why it stopped early (every row not written is kept), or undefined.
   */
  private async write(batch: readonly SecretAuditEntity[]): Promise<unknown> {
    try {
      await insertAuditRows(this.storage, batch);
      this.rows.splice(0, batch.length);
      return undefined;
    } catch (error) {
      if (!isRecordRefusal(error)) return error;
    }
    // The database refused a record of the batch: one row at a time finds which.
    const done = new Set<SecretAuditEntity>();
    const refused: SecretAuditEntity[] = [];
    let stopped: unknown;
    for (const row of batch) {
      try {
        await insertAuditRows(this.storage, [row]);
        done.add(row);
      } catch (error) {
        // Only a refusal of the record itself is given up on; anything else is kept for a retry.
        if (!isRecordRefusal(error)) {
          stopped = error;
          break;
        }
        refused.push(row);
      }
    }
    if (refused.length > 0) {
      for (const row of refused) done.add(row);
      this.lost(refused.length, 'rejected');
    }
    this.rows = this.rows.filter((row) => !done.has(row));
    return stopped;
  }

  private failed(error: unknown): void {
    this.failedFlushes++;
    this.metrics.flushFailures.inc();
    this.logger.warn({
      event: SECRETS_EVENTS.auditFlushFailed,
      bufferedRecords: this.rows.length,
      retryInMs: this.settings.retryIntervalMs,
      reason: failureReason(error),
    });
    clearTimeout(this.timer);
    this.timer = undefined;
    this.schedule(this.settings.retryIntervalMs);
  }

  /** Loudly, with counts only: the records' names and actors stay out of the log. */
  private lost(count: number, reason: 'rejected' | 'shutdown'): void {
    this.metrics.lost.inc({ reason }, count);
    this.logger.error({ event: SECRETS_EVENTS.auditFailed, lostRecords: count, reason });
  }
}

/** A code to log, never a driver message (it may quote the rows). */
function failureReason(error: unknown): string {
  if (error instanceof DatabaseUnavailableError) return error.reason;
  const driver = (error as { driverError?: { code?: unknown } } | null)?.driverError;
  return typeof driver?.code === 'string' ? driver.code : 'refused';
}
