import type { DataSource } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata.js';
import { COMPACT_PREFIX, PURPOSE_COMPACT_PREFIX } from '../envelope/envelope.constants.js';
import type { EnvelopePurpose } from '../envelope/envelope.interface.js';
import { KmsConfigurationError } from '../errors/kms-configuration.error.js';
import type { EnvelopeColumn } from './envelope-column.js';

/** A registered column, resolved against the DataSource's metadata into quoted SQL names. */
export interface ColumnPlan {
  readonly label: string;
  readonly table: string;
  readonly primaryKey: readonly { readonly name: string; readonly pgType: string }[];
  readonly envelope: string;
  readonly keyId: string | undefined;
  readonly purpose: EnvelopePurpose | undefined;
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

  get purpose(): EnvelopePurpose | undefined {
    return this.plan.purpose;
  }

  /**
   * Rows to move (not under `keyId`; with `legacy`, a store's format-v1 values too), or with
   * `using`, rows under `keyId` in either format, counted.
   */
  count(keyId: string, using: boolean, legacy = false): Statement {
    const [condition, parameters] = this.keyCondition(keyId, using, legacy);
    return [`SELECT COUNT(*) AS n FROM ${this.plan.table} WHERE ${condition}`, parameters];
  }

  /** A store's values still in format v1, counted. */
  countLegacy(): Statement {
    return [
      `SELECT COUNT(*) AS n FROM ${this.plan.table} WHERE ${this.plan.envelope} LIKE '${COMPACT_PREFIX}.%'`,
      [],
    ];
  }

  /**
   * Up to `limit` rows to move (see count()), after the primary key `after`, in key order.
   */
  select(
    active: string,
    after: readonly unknown[] | undefined,
    limit: number,
    legacy = false,
  ): Statement {
    const { plan } = this;
    const [condition, parameters] = this.keyCondition(active, false, legacy);
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
   * "Under `keyId`" (using) or "to move off `keyId`": the key id column where the table has
   * one, else the compact envelope's prefix (`kms1.<keyId>.`, or for a store's column
   * `kms2.<purpose>.<keyId>.`). A store's column may still hold format-v1 values: they count as
   * under their key, and, with `legacy`, as to move whatever their key.
   */
  private keyCondition(keyId: string, using: boolean, legacy: boolean): Statement {
    const { plan } = this;
    const placeholders = ['?', '?'];
    if (plan.postgres) placeholders.splice(0, 2, '$1', '$2');
    const [first, second] = placeholders;
    const v1 = `${COMPACT_PREFIX}.`;
    if (plan.purpose === undefined) {
      if (plan.keyId) return [`${plan.keyId} ${using ? '=' : '<>'} ${first}`, [keyId]];
      const prefix = `${v1}${escapeLike(keyId)}.%`;
      const condition = using
        ? `${plan.envelope} LIKE ${first} ESCAPE '\\'`
        : `${plan.envelope} LIKE '${v1}%' AND ${plan.envelope} NOT LIKE ${first} ESCAPE '\\'`;
      return [condition, [prefix]];
    }
    const v2 = `${PURPOSE_COMPACT_PREFIX}.${plan.purpose}.`;
    const isV1 = `${plan.envelope} LIKE '${v1}%'`;
    if (plan.keyId) {
      if (using) return [`${plan.keyId} = ${first}`, [keyId]];
      const moved = legacy ? `OR ${isV1}` : `AND NOT ${isV1}`;
      return [`(${plan.keyId} <> ${first} ${moved})`, [keyId]];
    }
    const v1Under = `${v1}${escapeLike(keyId)}.%`;
    const v2Under = `${v2}${escapeLike(keyId)}.%`;
    if (using) {
      return [
        `(${plan.envelope} LIKE ${first} ESCAPE '\\' OR ${plan.envelope} LIKE ${second} ESCAPE '\\')`,
        [v1Under, v2Under],
      ];
    }
    const v2Elsewhere = `(${plan.envelope} LIKE '${v2}%' AND ${plan.envelope} NOT LIKE ${first} ESCAPE '\\')`;
    return [legacy ? `(${v2Elsewhere} OR ${isV1})` : v2Elsewhere, [v2Under]];
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
    purpose: column.purpose,
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
