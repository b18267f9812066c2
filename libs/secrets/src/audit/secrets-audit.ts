import { Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { NestKmsError } from '@nest-kms/kms';
import { type KmsStorage } from '@nest-kms/kms/extension';
import {
  SecretAuditEntity,
  type AuditAction,
  type AuditOutcome,
} from '../entities/secret-audit.entity.js';
import { AuditWriteFailedError } from '../errors/audit-write-failed.error.js';
import { SECRETS_EVENTS } from '../secrets.messages.js';
import type { ResolvedSecretsOptions } from '../secrets.options.js';
import type { AuditBuffer } from './audit-buffer.js';
import { insertAuditRows, withRecordId } from './audit-insert.js';
import { auditText } from './audit-text.js';

export interface AuditEntry {
  action: AuditAction;
  secretName?: string | null;
  version?: number | null;
  actor?: string;
  outcome: AuditOutcome;
  errorCode?: string | null;
  /** The data key or master-key fingerprint of a KMS security event. */
  keyId?: string | null;
}

/**
 * The audit trail. Writes record theirs inside their own transaction; reads, lists and backups
 * either wait for their record (fail-closed) or buffer it for a batched write, so a cache hit
 * does not wait on the database. A buffered record is kept until it is written, through
 * database outages; when the buffer is full, the caller waits for its own record instead.
 */
export class SecretsAudit {
  private readonly logger = new Logger('SecretsAudit');
  private readonly failClosed: boolean;
  private readonly now: () => number;

  constructor(
    private readonly storage: KmsStorage,
    options: ResolvedSecretsOptions,
    private readonly buffer: AuditBuffer,
  ) {
    this.failClosed = options.auditFailClosed;
    this.now = options.clock;
  }

  /** Inside a write's transaction: the write and its record commit together. */
  async recordIn(manager: EntityManager, entry: AuditEntry): Promise<void> {
    const row = this.row(entry, this.now());
    try {
      await manager.insert(SecretAuditEntity, withRecordId(row));
    } catch (error) {
      // Throwing rolls the write back: a write never commits without its record.
      throw this.storage.unavailable(error) ?? this.refused(row, 'failClosed');
    }
  }

  /**
   * A read, list or backup record, at `at` (epoch ms; default: the clock now). Buffered: returns
   * at once (undefined). Fail-closed, or the buffer full: returns the write, which rejects with
   * AuditWriteFailedError when the record cannot be written.
   */
  record(entry: AuditEntry, at?: number): Promise<void> | undefined {
    return this.keep(this.row(entry, at ?? this.now()));
  }

  /**
   * record() for a successful read of a cached value, at `at`: `secretName` was checked before
   * it was cached, and a valid name is stored as it is.
   */
  recordCachedRead(
    secretName: string,
    version: number,
    actor: string | undefined,
    at: number,
  ): Promise<void> | undefined {
    return this.keep({
      recordId: null,
      at,
      action: 'read',
      secretName,
      version,
      actor: actor === undefined ? null : auditText(actor),
      outcome: 'success',
      errorCode: null,
      keyId: null,
    } as SecretAuditEntity);
  }

  /**
   * A KMS security event's record: buffered whatever failClosed says (it must never slow the
   * call that failed), and dropped, counted, when the buffer is full (a flood of tampered
   * envelopes must not turn into a flood of single-row writes). With `now`, written at once and
   * awaited: for a refusal the process will not survive.
   */
  recordSecurityEvent(entry: AuditEntry, now = false): Promise<void> | undefined {
    const row = this.row(entry, this.now());
    if (now) return insertAuditRows(this.storage, [row]);
    if (!this.buffer.add(row)) this.buffer.dropped();
    return undefined;
  }

  private keep(row: SecretAuditEntity): Promise<void> | undefined {
    if (this.failClosed) return this.writeNow(row, 'failClosed');
    if (!this.buffer.add(row)) return this.writeNow(row, 'bufferFull');
    return undefined;
  }

  private async writeNow(row: SecretAuditEntity, why: 'failClosed' | 'bufferFull'): Promise<void> {
    try {
      await insertAuditRows(this.storage, [row]);
    } catch {
      throw this.refused(row, why);
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
      const errorCode = error instanceof NestKmsError ? error.code : 'UNEXPECTED';
      await this.record({ ...entry, outcome: 'failure', errorCode })?.catch(() => undefined);
      throw error;
    }
  }

  /** Says loudly (never with values) that a record could not be written, and refuses. */
  private refused(
    row: Pick<SecretAuditEntity, 'action' | 'secretName'>,
    why: 'failClosed' | 'bufferFull',
  ): AuditWriteFailedError {
    this.logger.error({
      event: SECRETS_EVENTS.auditFailed,
      action: row.action,
      secretName: row.secretName,
    });
    return new AuditWriteFailedError(row.action, why);
  }

  /** Writes buffered records now; those the database cannot take yet stay for the retry. */
  flush(): Promise<void> {
    return this.buffer.flush();
  }

  /** At shutdown: a last flush, and a loud count of any record it could not write. */
  close(): Promise<void> {
    return this.buffer.close();
  }

  /** The record; its id comes with its first write (withRecordId). */
  private row(entry: AuditEntry, at: number): SecretAuditEntity {
    return {
      recordId: null,
      at,
      action: entry.action,
      secretName: typeof entry.secretName === 'string' ? auditText(entry.secretName) : null,
      version: entry.version ?? null,
      actor: typeof entry.actor === 'string' ? auditText(entry.actor) : null,
      outcome: entry.outcome,
      errorCode: entry.errorCode ?? null,
      keyId: typeof entry.keyId === 'string' ? auditText(entry.keyId) : null,
    } as SecretAuditEntity;
  }
}
