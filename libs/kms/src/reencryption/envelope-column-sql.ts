import type { DataSource } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata.js';
import { COMPACT_PREFIX } from '../envelope/envelope.constants.js';
import { KmsConfigurationError } from '../errors/kms-configuration.error.js';
import type { EnvelopeColumn } from './envelope-column.js';

/** A registered column, resolved against the DataSource's metadata into quoted SQL names. */
export interface ColumnPlan {
  readonly label: string;
  readonly table: string;
  readonly primaryKey: readonly { readonly name: string; readonly pgType: string }[];
  readonly envelope: string;
  readonly keyId: string | undefined;
  readonly postgres: boolean;
}

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

  static of(dataSource: DataSource, column: EnvelopeColumn): EnvelopeColumnSql {
    return new EnvelopeColumnSql(planColumn(dataSource, column));
  }

  get label(): string {
    return this.plan.label;
  }

  /** Rows not under `keyId` (or, with `using`, under it), counted. */
  count(keyId: string, using: boolean): Statement {
    const [condition, parameters] = this.keyCondition(keyId, using);
    return [`SELECT COUNT(*) AS n FROM ${this.plan.table} WHERE ${condition}`, parameters];
  }

  /** Up to `limit` rows not under `active`, after the primary key `after`, in key order. */
  select(active: string, after: readonly unknown[] | undefined, limit: number): Statement {
    const { plan } = this;
    const [condition, parameters] = this.keyCondition(active, false);
    const keys = plan.primaryKey.map((column) => column.name).join(', ');
    let where = condition;
    if (after) {
      const placeholders = after.map((_, i) =>
        plan.postgres ? `$${parameters.length + i + 1}` : '?',
      );
      where += ` AND (${keys}) > (${placeholders.join(', ')})`;
      parameters.push(...after);
    }
    return [
      `SELECT ${keys}, ${plan.envelope} AS envelope FROM ${plan.table} WHERE ${where} ORDER BY ${keys} LIMIT ${limit}`,
      parameters,
    ];
  }

  /** The rows of a select() result. */
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

  /**
   * "Under `keyId`" (using) or "an envelope not under `keyId`": the key id column where the
   * table has one, else the compact envelope's prefix `kms1.<keyId>.`.
   */
  private keyCondition(keyId: string, using: boolean): Statement {
    const { plan } = this;
    const placeholder = plan.postgres ? '$1' : '?';
    if (plan.keyId) {
      return [`${plan.keyId} ${using ? '=' : '<>'} ${placeholder}`, [keyId]];
    }
    const prefix = `${COMPACT_PREFIX}.${escapeLike(keyId)}.%`;
    const condition = using
      ? `${plan.envelope} LIKE ${placeholder} ESCAPE '\\'`
      : `${plan.envelope} LIKE '${COMPACT_PREFIX}.%' AND ${plan.envelope} NOT LIKE ${placeholder} ESCAPE '\\'`;
    return [condition, [prefix]];
  }
}

function planColumn(dataSource: DataSource, column: EnvelopeColumn): ColumnPlan {
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
    postgres: isPostgres(dataSource),
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
