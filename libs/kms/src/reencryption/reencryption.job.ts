import { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata.js';
import { COMPACT_PREFIX } from '../envelope/envelope.constants.js';
import { KmsConfigurationError } from '../errors/kms-configuration.error.js';
import { KmsError } from '../errors/kms.error.js';
import { KMS_EVENTS } from '../kms.messages.js';
import { REENCRYPTION_ADVISORY_LOCK } from '../kms.constants.js';
import type { KmsStorage } from '../storage/kms-storage.js';
import type { EnvelopeColumn } from './envelope-column.js';

/** What the job asks of the KMS: the active key, and moving one envelope to it. */
export interface EnvelopeRewrapper {
  activeKeyId(): string;
  /** The same plaintext and AAD, sealed under the active key; never returns the plaintext. */
  rewrap(compact: string): Promise<{ envelope: string; keyId: string }>;
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
}

/** A registered column, resolved against the DataSource's metadata into quoted SQL names. */
interface ColumnPlan {
  readonly label: string;
  readonly table: string;
  readonly primaryKey: readonly { readonly name: string; readonly pgType: string }[];
  readonly envelope: string;
  readonly keyId: string | undefined;
}

interface Row {
  readonly key: readonly unknown[];
  readonly envelope: string;
}

/** SQLite allows 32766 bound values per statement; an update batch stays well below. */
const SQLITE_ROWS_PER_UPDATE = 1_000;
const PROGRESS_LOG_EVERY_MS = 1_000;

/**
 * Vault's rewrap for stored data: moves every registered column's envelopes that are under a
 * retired data key to the active one, a batch per transaction. Resumable by construction: what
 * is left is exactly what is still under a retired key, so a run killed at any point loses
 * nothing and the next run continues. Each row is updated only if it still holds the envelope
 * that was read, so a concurrent write is never overwritten. On Postgres one replica runs it at
 * a time (an advisory lock); the others return at once.
 */
export class ReencryptionJob {
  private readonly logger = new Logger('KmsReencryption');

  constructor(
    private readonly storage: KmsStorage,
    private readonly rewrapper: EnvelopeRewrapper,
  ) {}

  /** Envelopes, over every registered column, that are not under the active key. */
  async countRemaining(): Promise<number> {
    const dataSource = await this.storage.dataSource();
    const active = this.rewrapper.activeKeyId();
    let total = 0;
    for (const plan of this.plans(dataSource))
      total += await this.count(dataSource, plan, active, false);
    return total;
  }

  /** Envelopes, over every registered column, that use data key `keyId`. */
  async countUsing(keyId: string): Promise<number> {
    const dataSource = await this.storage.dataSource();
    let total = 0;
    for (const plan of this.plans(dataSource))
      total += await this.count(dataSource, plan, keyId, true);
    return total;
  }

  async run(options: ReencryptionRunOptions): Promise<ReencryptionResult> {
    const dataSource = await this.storage.dataSource();
    const unlock = await this.lock(dataSource);
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
      return await this.runLocked(dataSource, options);
    } finally {
      await unlock();
    }
  }

  private async runLocked(
    dataSource: DataSource,
    options: ReencryptionRunOptions,
  ): Promise<ReencryptionResult> {
    const began = performance.now();
    const plans = this.plans(dataSource);
    const active = this.rewrapper.activeKeyId();
    let total = 0;
    for (const plan of plans) total += await this.count(dataSource, plan, active, false);
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
    for (const plan of plans) {
      if (total === 0) break;
      let after: readonly unknown[] | undefined;
      for (;;) {
        const rows = await this.select(dataSource, plan, active, after, options.batchSize);
        if (rows.length === 0) break;
        after = rows[rows.length - 1].key;
        const updates: { row: Row; envelope: string; keyId: string }[] = [];
        for (const row of rows) {
          try {
            updates.push({ row, ...(await this.rewrapper.rewrap(row.envelope)) });
          } catch (error) {
            if (!(error instanceof KmsError)) throw error;
            failed++;
            this.logger.warn({
              event: KMS_EVENTS.reencryptionFailed,
              column: plan.label,
              code: error.code,
            });
          }
        }
        await this.update(dataSource, plan, updates);
        moved += updates.length;
        const progress = { column: plan.label, moved, failed, total, envelopesPerSecond: rate() };
        options.onProgress?.(progress);
        if (performance.now() - loggedAt >= PROGRESS_LOG_EVERY_MS) {
          loggedAt = performance.now();
          this.logger.log({ event: KMS_EVENTS.reencryptionProgress, ...progress });
        }
        if (rows.length < options.batchSize) break;
      }
    }
    let remaining = 0;
    for (const plan of plans) remaining += await this.count(dataSource, plan, active, false);
    const durationMs = Math.round(performance.now() - began);
    const result = { ran: true, moved, failed, remaining, durationMs, envelopesPerSecond: rate() };
    if (total > 0) this.logger.log({ event: KMS_EVENTS.reencryptionCompleted, ...result });
    return result;
  }

  /** Rows not under `active` (or, with `using`, under that key), counted. */
  private async count(
    dataSource: DataSource,
    plan: ColumnPlan,
    keyId: string,
    using: boolean,
  ): Promise<number> {
    const [condition, parameters] = this.keyCondition(dataSource, plan, keyId, using, 1);
    const rows = (await this.storage.run((ds) =>
      ds.query(`SELECT COUNT(*) AS n FROM ${plan.table} WHERE ${condition}`, parameters),
    )) as { n: number | string }[];
    return Number(rows[0].n);
  }

  private async select(
    dataSource: DataSource,
    plan: ColumnPlan,
    active: string,
    after: readonly unknown[] | undefined,
    limit: number,
  ): Promise<Row[]> {
    const postgres = isPostgres(dataSource);
    const [condition, parameters] = this.keyCondition(dataSource, plan, active, false, 1);
    const keys = plan.primaryKey.map((column) => column.name).join(', ');
    let where = condition;
    if (after) {
      const placeholders = after.map((_, i) => (postgres ? `$${parameters.length + i + 1}` : '?'));
      where += ` AND (${keys}) > (${placeholders.join(', ')})`;
      parameters.push(...after);
    }
    const sql = `SELECT ${keys}, ${plan.envelope} AS envelope FROM ${plan.table} WHERE ${where} ORDER BY ${keys} LIMIT ${limit}`;
    const rows = (await this.storage.run((ds) => ds.query(sql, parameters))) as Record<
      string,
      unknown
    >[];
    const names = plan.primaryKey.map((column) => unquote(column.name));
    return rows.map((row) => ({
      key: names.map((name) => row[name]),
      envelope: row.envelope as string,
    }));
  }

  private async update(
    dataSource: DataSource,
    plan: ColumnPlan,
    updates: readonly { row: Row; envelope: string; keyId: string }[],
  ): Promise<void> {
    if (updates.length === 0) return;
    if (isPostgres(dataSource)) {
      const width = plan.primaryKey.length;
      const arrays: unknown[][] = [...plan.primaryKey.map(() => []), [], [], []];
      for (const { row, envelope, keyId } of updates) {
        row.key.forEach((value, i) => arrays[i].push(value));
        arrays[width].push(row.envelope);
        arrays[width + 1].push(envelope);
        arrays[width + 2].push(keyId);
      }
      const columns = [
        ...plan.primaryKey.map((column, i) => `unnest($${i + 1}::${column.pgType}[]) AS k${i}`),
        `unnest($${width + 1}::text[]) AS old_envelope`,
        `unnest($${width + 2}::text[]) AS new_envelope`,
        `unnest($${width + 3}::text[]) AS new_key_id`,
      ];
      const matches = plan.primaryKey.map((column, i) => `t.${column.name} = v.k${i}`);
      const sets = [`${plan.envelope} = v.new_envelope`];
      if (plan.keyId) sets.push(`${plan.keyId} = v.new_key_id`);
      const sql = `UPDATE ${plan.table} AS t SET ${sets.join(', ')} FROM (SELECT ${columns.join(', ')}) AS v WHERE ${matches.join(' AND ')} AND t.${plan.envelope} = v.old_envelope`;
      await this.storage.transaction((manager) => manager.query(sql, arrays));
      return;
    }
    await this.storage.transaction(async (manager) => {
      for (let start = 0; start < updates.length; start += SQLITE_ROWS_PER_UPDATE) {
        const chunk = updates.slice(start, start + SQLITE_ROWS_PER_UPDATE);
        const width = plan.primaryKey.length;
        const tuple = `(${Array.from({ length: width + 3 }, () => '?').join(', ')})`;
        const parameters: unknown[] = [];
        for (const { row, envelope, keyId } of chunk) {
          parameters.push(...row.key, row.envelope, envelope, keyId);
        }
        // VALUES columns are named column1, column2, … in SQLite.
        const matches = plan.primaryKey.map(
          (column, i) => `${plan.table}.${column.name} = v.column${i + 1}`,
        );
        const sets = [`${plan.envelope} = v.column${width + 2}`];
        if (plan.keyId) sets.push(`${plan.keyId} = v.column${width + 3}`);
        const sql = `UPDATE ${plan.table} SET ${sets.join(', ')} FROM (VALUES ${Array.from(chunk, () => tuple).join(', ')}) AS v WHERE ${matches.join(' AND ')} AND ${plan.table}.${plan.envelope} = v.column${width + 1}`;
        await manager.query(sql, parameters);
      }
    });
  }

  /**
   * The SQL condition for "under `keyId`" (using) or "an envelope not under `keyId`": the key id
   * column where the table has one, else the compact envelope's prefix `kms1.<keyId>.`.
   */
  private keyCondition(
    dataSource: DataSource,
    plan: ColumnPlan,
    keyId: string,
    using: boolean,
    firstParameter: number,
  ): [string, unknown[]] {
    const placeholder = isPostgres(dataSource) ? `$${firstParameter}` : '?';
    if (plan.keyId) {
      return [`${plan.keyId} ${using ? '=' : '<>'} ${placeholder}`, [keyId]];
    }
    const prefix = `${COMPACT_PREFIX}.${escapeLike(keyId)}.%`;
    const condition = using
      ? `${plan.envelope} LIKE ${placeholder} ESCAPE '\\'`
      : `${plan.envelope} LIKE '${COMPACT_PREFIX}.%' AND ${plan.envelope} NOT LIKE ${placeholder} ESCAPE '\\'`;
    return [condition, [prefix]];
  }

  private plans(dataSource: DataSource): ColumnPlan[] {
    return this.storage.envelopeColumns().map((column) => plan(dataSource, column));
  }

  /** On Postgres, the advisory lock (null if another replica holds it); elsewhere, a no-op. */
  private async lock(dataSource: DataSource): Promise<(() => Promise<void>) | null> {
    if (!isPostgres(dataSource)) return async () => undefined;
    const runner = dataSource.createQueryRunner();
    await runner.connect();
    try {
      const [row] = (await runner.query(
        'SELECT pg_try_advisory_lock($1, $2) AS locked',
        REENCRYPTION_ADVISORY_LOCK,
      )) as { locked: boolean }[];
      if (!row.locked) {
        await runner.release();
        return null;
      }
    } catch (error) {
      await runner.release();
      throw error;
    }
    return async () => {
      await runner
        .query('SELECT pg_advisory_unlock($1, $2)', REENCRYPTION_ADVISORY_LOCK)
        .catch(() => undefined);
      await runner.release();
    };
  }
}

function plan(dataSource: DataSource, column: EnvelopeColumn): ColumnPlan {
  if (!dataSource.hasMetadata(column.entity)) {
    throw new KmsConfigurationError(
      `the envelope column's entity ${column.entity.name} is not in the KMS DataSource`,
    );
  }
  const metadata = dataSource.getMetadata(column.entity);
  const quote = (name: string) => dataSource.driver.escape(name);
  const columnNamed = (property: string): ColumnMetadata => {
    const found = metadata.findColumnWithPropertyName(property);
    if (!found) {
      throw new KmsConfigurationError(`${metadata.name} has no column for property ${property}`);
    }
    return found;
  };
  const envelope = columnNamed(column.envelope);
  return {
    label: `${metadata.tableName}.${envelope.databaseName}`,
    table: metadata.tablePath.split('.').map(quote).join('.'),
    primaryKey: metadata.primaryColumns.map((primary) => ({
      name: quote(primary.databaseName),
      pgType: isPostgres(dataSource) ? dataSource.driver.normalizeType(primary) : '',
    })),
    envelope: quote(envelope.databaseName),
    keyId: column.keyId ? quote(columnNamed(column.keyId).databaseName) : undefined,
  };
}

function isPostgres(dataSource: DataSource): boolean {
  return dataSource.options.type === 'postgres';
}

function unquote(name: string): string {
  return name.slice(1, -1);
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (character) => `\\${character}`);
}
