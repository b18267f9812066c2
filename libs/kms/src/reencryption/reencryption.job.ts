import { Inject, Injectable, Logger } from '@nestjs/common';
import { KeyringRewrapper } from '../core/keyring-rewrapper.js';
import type { DataKeyNotFoundError } from '../errors/data-key-not-found.error.js';
import { KmsError } from '../errors/kms.error.js';
import type { TenantRewrapKeys } from '../keyring/tenant-rewrap-keys.js';
import { KMS_EVENTS } from '../kms.messages.js';
import { KmsStorage } from '../storage/kms-storage.js';
import { EnvelopeColumnQueries } from './envelope-column-queries.js';
import type { EnvelopeColumnSql, EnvelopeRow, EnvelopeUpdate } from './envelope-column-sql.js';
import { LegacyEnvelopeSweep } from './legacy-envelope-sweep.js';
import { LegacyEnvelopes } from './legacy-envelopes.js';
import { ReencryptionProgressTracker } from './reencryption-progress.js';
import { REWRAP_WORKER_ENTRY } from './reencryption.constants.js';
import type {
  EnvelopeRewrapper,
  ReencryptionResult,
  ReencryptionRunOptions,
} from './reencryption.interface.js';
import { takeReencryptionLock } from './reencryption-lock.js';
import { RewrapThread } from './rewrap-thread.js';
import { tenantTagOfEnvelope } from './tenant-envelope-tag.js';

export type { ReencryptionProgress } from './reencryption-progress.js';
export type {
  EnvelopeRewrapper,
  ReencryptionResult,
  ReencryptionRunOptions,
} from './reencryption.interface.js';

/** Why a destroyed tenant's envelopes cannot move: their key is gone. */
const UNMOVABLE_CODE: DataKeyNotFoundError['code'] = 'KMS_DATA_KEY_NOT_FOUND';

/** Rewraps between two turns of the event loop (~1.5 ms of crypto): other work keeps running. */
const REWRAPS_PER_TURN = 50;

/**
 * Moves every registered column's envelopes that are under a
 * retired data key to the active one, a batch per transaction: the keyring's own to its active
 * key (on the rewrap thread where there is one), a tenant's to its tenant's active key (here).
 * Resumable by construction: what is left is exactly what is still under a retired key, so a
 * run killed at any point loses nothing and the next run continues. Each row is updated only if
 * it still holds the envelope that was read, so a concurrent write is never overwritten. On
 * Postgres one replica runs it at a time (an advisory lock); the others return at once.
 */
@Injectable()
export class ReencryptionJob {
  private readonly logger = new Logger('KmsReencryption');
  private readonly legacy: LegacyEnvelopeSweep;
  /**
   * Destroyed tenants' envelopes last reported per column: each run counts them as failed, and
   * the log says so only when their number changes, not once per run.
   */
  private readonly unmovableReported = new Map<string, number>();

  constructor(
    private readonly storage: KmsStorage,
    @Inject(KeyringRewrapper) private readonly rewrapper: EnvelopeRewrapper,
    legacy: LegacyEnvelopes,
    @Inject(REWRAP_WORKER_ENTRY) private readonly workerEntry: URL | string,
    private readonly queries: EnvelopeColumnQueries,
  ) {
    this.legacy = new LegacyEnvelopeSweep(legacy, (statement) => this.queries.count(statement));
  }

  /** Envelopes, over every registered column, that use data key `keyId`. */
  async countUsing(keyId: string): Promise<number> {
    let total = 0;
    for (const column of await this.queries.columns())
      total += await this.count(column, keyId, true);
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
    const columns = await this.queries.columns(options.entities);
    const active = this.rewrapper.activeKeyId();
    let total = 0;
    for (const column of columns) total += await this.count(column, active, false);
    if (total > 0) {
      this.logger.log({ event: KMS_EVENTS.reencryptionStarted, total, activeKeyId: active });
    }
    const run = new ReencryptionProgressTracker(began, total, this.logger, options.onProgress);
    const keys = this.rewrapper.keysForRewrap?.bind(this.rewrapper);
    const thread = total > 0 && keys ? RewrapThread.start(this.workerEntry, keys) : undefined;
    const tenants = total > 0 ? this.rewrapper.tenantKeys?.() : undefined;
    try {
      for (const column of columns) {
        if (total === 0) break;
        if (column.copies) {
          await this.copyPass(column, active, run, options.batchSize);
          // What the copies left is read once they are written, not rewrapped alongside them.
          await run.written();
        }
        await this.rewrapPass(column, active, run, options.batchSize, thread, tenants);
      }
      await run.written();
    } finally {
      // Never leave a write running past the run (and its advisory lock), nor the thread.
      await run.settled();
      await thread?.close();
      await tenants?.close();
    }
    let remaining = 0;
    let unmovable = 0;
    for (const column of columns) {
      const left = await this.queries.counts(column.countLeft(active, this.legacy.moves(column)));
      remaining += left.n;
      unmovable += left.unmovable;
      this.reportUnmovable(column.label, left.unmovable);
    }
    if (!options.entities) await this.legacy.refuseWhereNoneLeft(columns);
    const result = {
      ran: true,
      moved: run.moved,
      failed: run.failed + unmovable,
      remaining,
      durationMs: Math.round(run.elapsedMs()),
      envelopesPerSecond: run.rate(),
    };
    if (total > 0) this.logger.log({ event: KMS_EVENTS.reencryptionCompleted, ...result });
    return result;
  }

  /**
   * A destroyed tenant's envelopes in `column` (counted as failed by every run, never read):
   * logged when their number changes.
   */
  private reportUnmovable(column: string, envelopes: number): void {
    if ((this.unmovableReported.get(column) ?? 0) === envelopes) return;
    this.unmovableReported.set(column, envelopes);
    if (envelopes === 0) return;
    this.logger.warn({
      event: KMS_EVENTS.reencryptionFailed,
      column,
      code: UNMOVABLE_CODE,
      envelopes,
    });
  }

  /**
   * Reads, rewraps and writes the column's rows to move, a batch at a time: while one batch is
   * written, the next is read and rewrapped (on the rewrap thread where there is one).
   */
  private async rewrapPass(
    column: EnvelopeColumnSql,
    active: string,
    run: ReencryptionProgressTracker,
    batchSize: number,
    thread: RewrapThread | undefined,
    tenants: TenantRewrapKeys | undefined,
  ): Promise<void> {
    const rewrapBatch = (batch: readonly EnvelopeRow[]) =>
      this.rewrapBatch(column, batch, run, thread, tenants);
    let rows = await this.select(column, active, undefined, batchSize, false);
    let rewrapping = rows.length > 0 ? rewrapBatch(rows) : undefined;
    while (rewrapping) {
      const updates = await rewrapping;
      const last = rows;
      rows =
        last.length < batchSize
          ? []
          : await this.select(column, active, last[last.length - 1].key, batchSize, false);
      rewrapping = rows.length > 0 ? rewrapBatch(rows) : undefined;
      await run.write(column.label, async () => {
        await this.queries.update(column, updates);
        return updates.length;
      });
    }
  }

  /**
   * The batch's new envelopes: the keyring's own sent to the thread, and what it leaves (or all,
   * without one) rewrapped here, with tenants' envelopes, which the thread has no keys for.
   */
  private async rewrapBatch(
    column: EnvelopeColumnSql,
    rows: readonly EnvelopeRow[],
    run: ReencryptionProgressTracker,
    thread: RewrapThread | undefined,
    tenants: TenantRewrapKeys | undefined,
  ): Promise<EnvelopeUpdate[]> {
    // The thread holds the keyring's keys only: a tenant's envelope is rewrapped here.
    const rewrapped = thread
      ? await thread.rewrapWhere(
          rows.map((row) => row.envelope),
          column.purpose,
          (envelope) => tenantTagOfEnvelope(envelope, column.purpose) === undefined,
        )
      : undefined;
    const updates: EnvelopeUpdate[] = [];
    let here = 0;
    let elsewhere = 0;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i];
      const envelope = rewrapped?.[i];
      if (envelope) {
        updates.push({ row, envelope, keyId: thread!.activeKeyId });
        elsewhere++;
        continue;
      }
      if (++here % REWRAPS_PER_TURN === 0) await nextTurn();
      try {
        updates.push({
          row,
          ...(await this.rewrapper.rewrap(row.envelope, column.purpose, tenants)),
        });
      } catch (error) {
        if (!(error instanceof KmsError)) throw error;
        run.failed++;
        this.logger.warn({
          event: KMS_EVENTS.reencryptionFailed,
          column: column.label,
          code: error.code,
        });
      }
    }
    if (elsewhere > 0) this.rewrapper.sealedElsewhere?.(thread!.activeKeyId, elsewhere);
    return updates;
  }

  /**
   * For a column of copies: sets its rows to move from their originals, a batch of primary keys
   * at a time, in SQL; no envelope is opened.
   */
  private async copyPass(
    column: EnvelopeColumnSql,
    active: string,
    run: ReencryptionProgressTracker,
    batchSize: number,
  ): Promise<void> {
    const legacy = this.legacy.moves(column);
    let after: readonly unknown[] | undefined;
    for (;;) {
      const rows = await this.select(column, active, after, batchSize, true);
      if (rows.length === 0) return;
      const statement = column.copy(active, after, rows[rows.length - 1].key, legacy);
      after = rows[rows.length - 1].key;
      await run.write(column.label, () => this.queries.changeRows(statement));
      if (rows.length < batchSize) return;
    }
  }

  /** Rows to move (`using`: rows under keyId); a store's v1 values while it migrates them. */
  private count(column: EnvelopeColumnSql, keyId: string, using: boolean): Promise<number> {
    return this.queries.count(column.count(keyId, using, this.legacy.moves(column)));
  }

  private select(
    column: EnvelopeColumnSql,
    active: string,
    after: readonly unknown[] | undefined,
    limit: number,
    keysOnly: boolean,
  ): Promise<EnvelopeRow[]> {
    const legacy = this.legacy.moves(column);
    return this.queries.rows(column, column.select(active, after, limit, legacy, keysOnly));
  }
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
