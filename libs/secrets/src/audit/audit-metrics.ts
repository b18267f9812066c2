import { Counter, Gauge, type Registry } from 'prom-client';

/** What an operator watches to see that no audit record is lost: all zero in a healthy app. */
export class AuditMetrics {
  /** Flushes that failed; their records stayed buffered for the next try. */
  readonly flushFailures: Counter<never>;
  /** Reads that found the buffer full and waited for their own record to be written. */
  readonly bufferFull: Counter<never>;
  /**
   * Records that could not be kept, by reason: `rejected` by the database, unwritten at
   * `shutdown`, or a KMS security event met a full buffer (`buffer_full`).
   */
  readonly lost: Counter<'reason'>;
  private buffered: () => number = () => 0;

  constructor(registers: Registry[]) {
    this.flushFailures = new Counter({
      name: 'secret_audit_flush_failures_total',
      help: 'Failed writes of buffered audit records (kept and retried)',
      registers,
    });
    this.bufferFull = new Counter({
      name: 'secret_audit_buffer_full_total',
      help: 'Audit records written at once, the caller waiting, because the buffer was full',
      registers,
    });
    this.lost = new Counter({
      name: 'secret_audit_records_lost_total',
      help: 'Audit records that could not be written: rejected by the database, pending at shutdown, or a security event meeting a full buffer',
      labelNames: ['reason'] as const,
      registers,
    });
    const size = () => this.buffered();
    new Gauge({
      name: 'secret_audit_buffered_records',
      help: 'Audit records waiting to be written (audit.maxBufferedRecords at most)',
      registers,
      collect() {
        this.set(size());
      },
    });
  }

  /** Where the gauge reads the number of buffered records. */
  observeBuffer(size: () => number): void {
    this.buffered = size;
  }
}
