import type { DataSource } from 'typeorm';
import { COMPACT_PREFIX } from '../envelope/envelope.constants.js';
import type { EnvelopePurpose } from '../envelope/envelope.interface.js';
import type { EnvelopeColumn } from './envelope-column.js';
import {
  type ColumnPlan,
  copyFromSource,
  keyCondition,
  planColumn,
  StatementParameters,
  unmovableCondition,
} from './envelope-column-plan.js';

export type { ColumnPlan } from './envelope-column-plan.js';

/** A row read for re-encryption: its primary key values and its envelope. */
export interface EnvelopeRow {
  readonly key: readonly unknown[];
  readonly envelope: string;
}

/** A row's new envelope, and the key it is under. */
export interface EnvelopeUpdate {
  readonly row: EnvelopeRow;
  readonly envelope: string;
  readonly keyId: string;
}

type Statement = [sql: string, parameters: unknown[]];

/** SQLite allows 32766 bound values per statement; an update batch stays well below. */
const SQLITE_ROWS_PER_UPDATE = 1_000;

/** The SQL of re-encryption for one registered column, on Postgres or SQLite. */
export class EnvelopeColumnSql {
  private constructor(readonly plan: ColumnPlan) {}

  /** `column`'s SQL; a copy's source is looked up among `registered`. */
  static of(
    dataSource: DataSource,
    column: EnvelopeColumn,
    registered: readonly EnvelopeColumn[],
  ): EnvelopeColumnSql {
    return new EnvelopeColumnSql(planColumn(dataSource, column, registered));
  }

  get label(): string {
    return this.plan.label;
  }

  get purpose(): EnvelopePurpose | undefined {
    return this.plan.purpose;
  }

  /** Whether the column's values are copies of another column's (EnvelopeColumn.copyOf). */
  get copies(): boolean {
    return this.plan.copy !== undefined;
  }

  /**
   * Rows to move (not under `keyId`; with `legacy`, a store's format-v1 values too), or with
   * `using`, rows under `keyId` in either format, counted.
   */
  count(keyId: string, using: boolean, legacy = false): Statement {
    const parameters = this.parameters();
    const condition = keyCondition(this.plan, keyId, using, legacy, parameters);
    return [`SELECT COUNT(*) AS n FROM ${this.plan.table} WHERE ${condition}`, parameters.values];
  }

  /**
   * After a run: rows still to move (`n`, see count()) and, counted among them, tenants' values
   * whose key no longer exists (`unmovable`: a destroyed tenant's), which no run can move.
   */
  countLeft(active: string, legacy = false): Statement {
    const parameters = this.parameters();
    const unmovable = unmovableCondition(this.plan);
    const toMove = keyCondition(this.plan, active, false, legacy, parameters);
    return [
      `SELECT COUNT(*) AS n, COUNT(CASE WHEN ${unmovable} THEN 1 END) AS unmovable FROM ${this.plan.table} WHERE ${toMove} OR (${unmovable})`,
      parameters.values,
    ];
  }

  /** A store's values still in format v1, counted. */
  countLegacy(): Statement {
    return [
      `SELECT COUNT(*) AS n FROM ${this.plan.table} WHERE ${this.plan.envelope} LIKE '${COMPACT_PREFIX}.%'`,
      [],
    ];
  }

  /**
   * Up to `limit` rows to move (see count()), after the primary key `after`, in key order; with
   * `keysOnly`, their primary keys without the envelopes.
   */
  select(
    active: string,
    after: readonly unknown[] | undefined,
    limit: number,
    legacy = false,
    keysOnly = false,
  ): Statement {
    const { plan } = this;
    const parameters = this.parameters();
    let where = keyCondition(plan, active, false, legacy, parameters);
    if (after) where += ` AND ${this.keyCompared('>', after, parameters)}`;
    const keys = this.keys();
    const columns = keysOnly ? keys : `${keys}, ${plan.envelope} AS envelope`;
    return [
      `SELECT ${columns} FROM ${plan.table} WHERE ${where} ORDER BY ${keys} LIMIT ${limit}`,
      parameters.values,
    ];
  }

  /** The rows of a select() result (envelope undefined when it read keys only). */
  rows(records: readonly Record<string, unknown>[]): EnvelopeRow[] {
    const names = this.plan.primaryKey.map((column) => unquote(column.name));
    return records.map((record) => ({
      key: names.map((name) => record[name]),
      envelope: record.envelope as string,
    }));
  }

  /**
   * One statement per batch (SQLite: per 1,000 rows), each row updated only while it still
   * holds the envelope that was read.
   */
  update(updates: readonly EnvelopeUpdate[]): Statement[] {
    if (updates.length === 0) return [];
    return this.plan.postgres ? [this.postgresUpdate(updates)] : this.sqliteUpdates(updates);
  }

  /**
   * For a column of copies: the rows to move with a primary key after `after` (none: from the
   * first) up to `last`, set to their source row's envelope where that is under `active` in the
   * column's format (a tenant's row: under its tenant's active key). A row still to move when the
   * statement runs is the only kind it changes, so a concurrent write is never overwritten; what
   * it cannot copy is left for a rewrap.
   */
  copy(
    active: string,
    after: readonly unknown[] | undefined,
    last: readonly unknown[],
    legacy = false,
  ): Statement {
    const { plan } = this;
    const source = plan.copy!;
    const parameters = this.parameters();
    const { sets, condition } = copyFromSource(plan, active, parameters);
    const where = [
      ...source.join.map(({ target, source: from }) => `c.${from} = t.${target}`),
      condition,
      keyCondition(plan, active, false, legacy, parameters, 't'),
      this.keyCompared('<=', last, parameters, 't'),
    ];
    if (after) where.push(this.keyCompared('>', after, parameters, 't'));
    return [
      `UPDATE ${plan.table} AS t SET ${sets.join(', ')} FROM ${source.table} AS c WHERE ${where.join(' AND ')}`,
      parameters.values,
    ];
  }

  private postgresUpdate(updates: readonly EnvelopeUpdate[]): Statement {
    const { plan } = this;
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
    return [
      `UPDATE ${plan.table} AS t SET ${sets.join(', ')} FROM (SELECT ${columns.join(', ')}) AS v WHERE ${matches.join(' AND ')} AND t.${plan.envelope} = v.old_envelope`,
      arrays,
    ];
  }

  private sqliteUpdates(updates: readonly EnvelopeUpdate[]): Statement[] {
    const { plan } = this;
    const width = plan.primaryKey.length;
    const tuple = `(${Array.from({ length: width + 3 }, () => '?').join(', ')})`;
    // VALUES columns are named column1, column2, … in SQLite.
    const matches = plan.primaryKey.map(
      (column, i) => `${plan.table}.${column.name} = v.column${i + 1}`,
    );
    const sets = [`${plan.envelope} = v.column${width + 2}`];
    if (plan.keyId) sets.push(`${plan.keyId} = v.column${width + 3}`);
    const statements: Statement[] = [];
    for (let start = 0; start < updates.length; start += SQLITE_ROWS_PER_UPDATE) {
      const chunk = updates.slice(start, start + SQLITE_ROWS_PER_UPDATE);
      const parameters: unknown[] = [];
      for (const { row, envelope, keyId } of chunk) {
        parameters.push(...row.key, row.envelope, envelope, keyId);
      }
      statements.push([
        `UPDATE ${plan.table} SET ${sets.join(', ')} FROM (VALUES ${Array.from(chunk, () => tuple).join(', ')}) AS v WHERE ${matches.join(' AND ')} AND ${plan.table}.${plan.envelope} = v.column${width + 1}`,
        parameters,
      ]);
    }
    return statements;
  }

  private parameters(): StatementParameters {
    return new StatementParameters(this.plan.postgres);
  }

  private keys(alias?: string): string {
    return this.plan.primaryKey
      .map((column) => (alias ? `${alias}.${column.name}` : column.name))
      .join(', ');
  }

  /** The primary key compared with `key` (`(a, b) > (?, ?)`), in key order. */
  private keyCompared(
    operator: '>' | '<=',
    key: readonly unknown[],
    parameters: StatementParameters,
    alias?: string,
  ): string {
    const placeholders = key.map((value) => parameters.bind(value));
    return `(${this.keys(alias)}) ${operator} (${placeholders.join(', ')})`;
  }
}

function unquote(name: string): string {
  return name.slice(1, -1);
}
