import { Injectable } from '@nestjs/common';
import { KmsStorage } from '../storage/kms-storage.js';
import { EnvelopeColumnSql, type EnvelopeRow, type EnvelopeUpdate } from './envelope-column-sql.js';

type Statement = [sql: string, parameters: unknown[]];

/**
 * Runs the statements EnvelopeColumnSql builds on the KMS database: which columns a
 * re-encryption covers, counts, pages of rows and their writes. The job decides what moves and
 * when; this is where it reaches the database, so each write is its own transaction.
 */
@Injectable()
export class EnvelopeColumnQueries {
  constructor(private readonly storage: KmsStorage) {}

  /** The columns of a run (every registered one, or `entities`'), copies after their sources. */
  async columns(entities?: readonly Function[]): Promise<EnvelopeColumnSql[]> {
    const dataSource = await this.storage.dataSource();
    const registered = this.storage.envelopeColumns();
    const columns = registered
      .filter((column) => !entities || entities.includes(column.entity))
      .map((column) => EnvelopeColumnSql.of(dataSource, column, registered));
    return [...columns.filter((c) => !c.copies), ...columns.filter((c) => c.copies)];
  }

  /** The `n` a counting statement selects. */
  async count(statement: Statement): Promise<number> {
    return (await this.counts(statement)).n;
  }

  /** Every count a counting statement selects (`n`, …), as numbers (pg reads bigint as text). */
  async counts([sql, parameters]: Statement): Promise<Record<string, number>> {
    const rows = (await this.storage.run((ds) => ds.query(sql, parameters))) as Record<
      string,
      number | string
    >[];
    return Object.fromEntries(Object.entries(rows[0]).map(([name, n]) => [name, Number(n)]));
  }

  /** The rows a select statement of `column` reads. */
  async rows(column: EnvelopeColumnSql, [sql, parameters]: Statement): Promise<EnvelopeRow[]> {
    const records = (await this.storage.run((ds) => ds.query(sql, parameters))) as Record<
      string,
      unknown
    >[];
    return column.rows(records);
  }

  /** Writes a batch's new envelopes, in one transaction. */
  async update(column: EnvelopeColumnSql, updates: readonly EnvelopeUpdate[]): Promise<void> {
    const statements = column.update(updates);
    if (statements.length === 0) return;
    await this.storage.transaction(async (manager) => {
      for (const [sql, parameters] of statements) await manager.query(sql, parameters);
    });
  }

  /** Runs one statement in its own transaction; resolves to the rows it changed. */
  changeRows([sql, parameters]: Statement): Promise<number> {
    return this.storage.transaction(async (manager) => {
      const result = await manager.queryRunner!.query(sql, parameters, true);
      return result.affected ?? 0;
    });
  }
}
