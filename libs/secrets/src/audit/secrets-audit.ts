import { Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { KmsError, type KmsStorage } from '@nest-kms/kms';
import {
  SecretAuditEntity,
  type AuditAction,
  type AuditOutcome,
} from '../entities/secret-audit.entity.js';
import { AuditWriteFailedError } from '../errors/audit-write-failed.error.js';
import { SECRETS_EVENTS } from '../secrets.messages.js';
import { SECRET_NAME_MAX_LENGTH } from '../secrets.validation.js';

export interface AuditEntry {
  action: AuditAction;
  secretName?: string | null;
  version?: number | null;
  actor?: string;
  outcome: AuditOutcome;
  errorCode?: string | null;
}

/** Buffered records beyond this are written at once rather than waiting for the timer. */
const FLUSH_AT = 500;
const INSERT_AUDIT =
  'INSERT INTO kms_secret_audit (at, action, secret_name, version, actor, outcome, error_code) VALUES';

/**
 * The audit trail. Writes record theirs inside their own transaction; reads, lists and backups
 * either wait for their record (fail-closed) or buffer it for a batched write, so a cache hit
 * does not wait on the database.
 */
export class SecretsAudit {
  private readonly logger = new Logger('SecretsAudit');
  private buffer: SecretAuditEntity[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly storage: KmsStorage,
    private readonly failClosed: boolean,
    private readonly flushIntervalMs: number,
    private readonly now: () => number,
  ) {}

  /** Inside a write's transaction: the write and its record commit together. */
  async recordIn(manager: EntityManager, entry: AuditEntry): Promise<void> {
    try {
      await manager.insert(SecretAuditEntity, this.row(entry));
    } catch {
      // Throwing rolls the write back: a write never commits without its record.
      throw this.refused(entry);
    }
  }

  /**
   * A read, list or backup record. Buffered: returns at once (undefined). Fail-closed: returns
   * the write, which rejects with AuditWriteFailedError when the record cannot be written.
   */
  record(entry: AuditEntry): Promise<void> | undefined {
    if (this.failClosed) return this.writeNow(entry);
    this.buffer.push(this.row(entry));
    if (this.buffer.length >= FLUSH_AT) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.flushIntervalMs).unref();
    return undefined;
  }

  private async writeNow(entry: AuditEntry): Promise<void> {
    try {
      await this.insert([this.row(entry)]);
    } catch {
      throw this.refused(entry);
    }
  }

  /**
   * Runs an operation; when it is refused, a failure record (with the error's code) is kept
   * before the error goes on. A failure record that cannot be written never hides the error.
   */
  async guard<T>(
    entry: Omit<AuditEntry, 'outcome' | 'errorCode'>,
    work: () => Promise<T>,
  ): Promise<T> {
    try {
      return await work();
    } catch (error) {
      const errorCode = error instanceof KmsError ? error.code : 'UNEXPECTED';
      await this.record({ ...entry, outcome: 'failure', errorCode })?.catch(() => undefined);
      throw error;
    }
  }

  /** Says loudly (never with values) that a record could not be written, and refuses. */
  private refused(entry: AuditEntry): AuditWriteFailedError {
    this.logger.error({
      event: SECRETS_EVENTS.auditFailed,
      action: entry.action,
      secretName: entry.secretName,
    });
    return new AuditWriteFailedError(entry.action);
  }

  /** Writes buffered records now. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.buffer;
    this.buffer = [];
    if (batch.length > 0) {
      this.flushing = this.flushing.then(() => this.write(batch));
    }
    return this.flushing;
  }

  private async write(batch: SecretAuditEntity[]): Promise<void> {
    try {
      await this.insert(batch);
    } catch {
      // One bad row must not take the others with it: try them one by one.
      let lost = 0;
      for (const row of batch) await this.insert([row]).catch(() => lost++);
      // Not fail-closed: the operations already answered. Say so loudly, never with values.
      if (lost > 0) this.logger.error({ event: SECRETS_EVENTS.auditFailed, lostRecords: lost });
    }
  }

  /**
   * One multi-row INSERT. TypeORM's insert builder spent 28-55 µs of CPU per record on a
   * 500-row batch (its parameter handling grows with the batch); a batch is at most FLUSH_AT
   * rows, 7 parameters each, within both engines' limits.
   */
  private insert(rows: readonly SecretAuditEntity[]): Promise<void> {
    return this.storage.run(async (dataSource) => {
      const postgres = dataSource.options.type === 'postgres';
      const parameters: unknown[] = [];
      const tuples = rows.map((row) => {
        const first =
          parameters.push(
            row.at,
            row.action,
            row.secretName,
            row.version,
            row.actor,
            row.outcome,
            row.errorCode,
          ) - 6;
        return postgres
          ? `($${first}, $${first + 1}, $${first + 2}, $${first + 3}, $${first + 4}, $${first + 5}, $${first + 6})`
          : '(?, ?, ?, ?, ?, ?, ?)';
      });
      await dataSource.query(`${INSERT_AUDIT} ${tuples.join(', ')}`, parameters);
    });
  }

  private row(entry: AuditEntry): SecretAuditEntity {
    return {
      at: this.now(),
      action: entry.action,
      // A refused call may carry a name longer than the column: keep what fits.
      secretName:
        typeof entry.secretName === 'string'
          ? entry.secretName.slice(0, SECRET_NAME_MAX_LENGTH)
          : null,
      version: entry.version ?? null,
      actor: entry.actor ?? null,
      outcome: entry.outcome,
      errorCode: entry.errorCode ?? null,
    } as SecretAuditEntity;
  }
}
