import { Inject, Injectable, Logger } from '@nestjs/common';
import { KeyringRewrapper } from '../core/keyring-rewrapper.js';
import type { EnvelopePurpose } from '../envelope/envelope.interface.js';
import { KmsError } from '../errors/kms.error.js';
import { KMS_EVENTS } from '../kms.messages.js';
import { KmsStorage } from '../storage/kms-storage.js';
import { EnvelopeColumnSql, type EnvelopeUpdate } from './envelope-column-sql.js';
import { LegacyEnvelopeSweep } from './legacy-envelope-sweep.js';
import { LegacyEnvelopes } from './legacy-envelopes.js';
import { takeReencryptionLock } from './reencryption-lock.js';

/** What the job asks of the KMS: the active key, and moving one envelope to it. */
export interface EnvelopeRewrapper {
  activeKeyId(): string;
  /**
   * The same plaintext and AAD, sealed under the active key for the column's purpose (a store's
   * format-v1 value moves to v2); never returns the plaintext.
   */
  rewrap(
    compact: string,
    purpose: EnvelopePurpose | undefined,
  ): Promise<{ envelope: string; keyId: string }>;
}

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

export interface ReencryptionResult {
  /** False when another replica holds the job: nothing was done here. */
  readonly ran: boolean;
  readonly moved: number;
  readonly failed: number;
  /** Envelopes still under retired keys after the run (failures, or written meanwhile). */
  readonly remaining: number;
  readonly durationMs: number;
  readonly envelopesPerSecond: number;
}

export interface ReencryptionRunOptions {
  readonly batchSize: number;
  readonly onProgress?: (progress: ReencryptionProgress) => void;
  /** Only these entities' columns (default: every registered column). */
  readonly entities?: readonly Function[];
}

const PROGRESS_LOG_EVERY_MS = 1_000;
/** Rewraps between two turns of the event loop (~1.5 ms of crypto): other work keeps running. */
const REWRAPS_PER_TURN = 50;
/**
 * Rewrapped envelopes remembered per run (old → new, ~600 bytes each, so ~60 MB at most): a
 * value stored twice (a secret's current_envelope and its current version's envelope) is
 * opened and sealed once, and both copies get the same new envelope.
 */
const REWRAP_MEMO_ENTRIES = 100_000;

/**
 * Moves every registered column's envelopes that are under a
 * retired data key to the active one, a batch per transaction. Resumable by construction: what
 * is left is exactly what is still under a retired key, so a run killed at any point loses
 * nothing and the next run continues. Each row is updated only if it still holds the envelope
 * that was read, so a concurrent write is never overwritten. On Postgres one replica runs it at
 * a time (an advisory lock); the others return at once.
 */
@Injectable()
export class ReencryptionJob {
  private readonly logger = new Logger('KmsReencryption');
  private readonly legacy: LegacyEnvelopeSweep;

  constructor(
    private readonly storage: KmsStorage,
    @Inject(KeyringRewrapper) private readonly rewrapper: EnvelopeRewrapper,
    legacy: LegacyEnvelopes,
  ) {
    this.legacy = new LegacyEnvelopeSweep(legacy, (statement) => this.countRows(statement));
  }

  /** Envelopes, over every registered column, that use data key `keyId`. */
  async countUsing(keyId: string): Promise<number> {
    let total = 0;
    for (const column of await this.columns()) total += await this.count(column, keyId, true);
    return total;
  }

  async run(options: ReencryptionRunOptions): Promise<ReencryptionResult> {
    const dataSource = await this.storage.dataSource();
    const unlock = await takeReencryptionLock(dataSource);
    if (!unlock) {
      return {
        ran: false,
        moved: 0,
        failed: 0,
        remaining: -1,
        durationMs: 0,
        envelopesPerSecond: 0,
      };
    }
    try {
      return await this.runLocked(options);
    } finally {
      await unlock();
    }
  }

  private async runLocked(options: ReencryptionRunOptions): Promise<ReencryptionResult> {
    const began = performance.now();
    const columns = await this.columns(options.entities);
    const active = this.rewrapper.activeKeyId();
    let total = 0;
    for (const column of columns) total += await this.count(column, active, false);
    let moved = 0;
    let failed = 0;
    let loggedAt = began;
    if (total > 0) {
      this.logger.log({ event: KMS_EVENTS.reencryptionStarted, total, activeKeyId: active });
    }
    const rate = () => {
      const seconds = (performance.now() - began) / 1000;
      return seconds > 0 ? Math.round(moved / seconds) : 0;
    };
    const memo = new Map<string, { envelope: string; keyId: string }>();
    // The previous batch's write runs while this one is read and rewrapped (Postgres: on another
    // connection, so the database and this process work at once). One write at a time, in order.
    let writing: Promise<void> | undefined;
    try {
      for (const column of columns) {
        if (total === 0) break;
        let after: readonly unknown[] | undefined;
        for (;;) {
          const rows = await this.select(column, active, after, options.batchSize);
          if (rows.length === 0) break;
          after = rows[rows.length - 1].key;
          const updates: EnvelopeUpdate[] = [];
          for (let i = 0; i < rows.length; i++) {
            if (i > 0 && i % REWRAPS_PER_TURN === 0) await nextTurn();
            const row = rows[i];
            try {
              // One value may sit in two columns of a store, never of two purposes.
              const memoKey = `${column.purpose ?? ''}:${row.envelope}`;
              let rewrapped = memo.get(memoKey);
              if (rewrapped === undefined) {
                rewrapped = await this.rewrapper.rewrap(row.envelope, column.purpose);
                if (memo.size < REWRAP_MEMO_ENTRIES) memo.set(memoKey, rewrapped);
              }
              updates.push({ row, ...rewrapped });
            } catch (error) {
              if (!(error instanceof KmsError)) throw error;
              failed++;
              this.logger.warn({
                event: KMS_EVENTS.reencryptionFailed,
                column: column.label,
                code: error.code,
              });
            }
          }
          await writing;
          writing = this.update(column, updates).then(() => {
            moved += updates.length;
            const progress = {
              column: column.label,
              moved,
              failed,
              total,
              envelopesPerSecond: rate(),
            };
            options.onProgress?.(progress);
            if (performance.now() - loggedAt >= PROGRESS_LOG_EVERY_MS) {
              loggedAt = performance.now();
              this.logger.log({ event: KMS_EVENTS.reencryptionProgress, ...progress });
            }
          });
          // Handled here so that a failed write is not reported unhandled before it is awaited.
          writing.catch(() => undefined);
          if (rows.length < options.batchSize) break;
        }
      }
      await writing;
    } finally {
      // Never leave a write running past the run (and its advisory lock).
      await writing?.catch(() => undefined);
    }
    let remaining = 0;
    for (const column of columns) remaining += await this.count(column, active, false);
    if (!options.entities) await this.legacy.refuseWhereNoneLeft(columns);
    const durationMs = Math.round(performance.now() - began);
    const result = { ran: true, moved, failed, remaining, durationMs, envelopesPerSecond: rate() };
    if (total > 0) this.logger.log({ event: KMS_EVENTS.reencryptionCompleted, ...result });
    return result;
  }

  /** Rows to move (`using`: rows under keyId); a store's v1 values while it migrates them. */
  private count(column: EnvelopeColumnSql, keyId: string, using: boolean): Promise<number> {
    return this.countRows(column.count(keyId, using, this.legacy.moves(column)));
  }

  private async countRows([sql, parameters]: [string, unknown[]]): Promise<number> {
    const rows = (await this.storage.run((ds) => ds.query(sql, parameters))) as {
      n: number | string;
    }[];
    return Number(rows[0].n);
  }

  private async select(
    column: EnvelopeColumnSql,
    active: string,
    after: readonly unknown[] | undefined,
    limit: number,
  ) {
    const [sql, parameters] = column.select(active, after, limit, this.legacy.moves(column));
    const records = (await this.storage.run((ds) => ds.query(sql, parameters))) as Record<
      string,
      unknown
    >[];
    return column.rows(records);
  }

  private async update(column: EnvelopeColumnSql, updates: readonly EnvelopeUpdate[]) {
    const statements = column.update(updates);
    if (statements.length === 0) return;
    await this.storage.transaction(async (manager) => {
      for (const [sql, parameters] of statements) await manager.query(sql, parameters);
    });
  }

  private async columns(entities?: readonly Function[]): Promise<EnvelopeColumnSql[]> {
    const dataSource = await this.storage.dataSource();
    return this.storage
      .envelopeColumns()
      .filter((column) => !entities || entities.includes(column.entity))
      .map((column) => EnvelopeColumnSql.of(dataSource, column));
  }
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
