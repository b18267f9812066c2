import type { ObjectLiteral, Repository } from 'typeorm';
import { isCompactEnvelopeText } from '../envelope/envelope-codec.js';
import { COMPACT_PREFIX, PURPOSE_COMPACT_PREFIX } from '../envelope/envelope.constants.js';
import { KmsConfigurationError } from '../errors/kms-configuration.error.js';
import { KmsError } from '../errors/kms.error.js';
import { encryptedPlanOf } from './blind-index.js';
import type { ColumnCodec } from './column-codec.js';
import { EncryptedColumns } from './encrypted-columns.js';
import type { ColumnPlan, EntityPlan } from './entity-plan.js';
import { storedForm } from './sealed-value.js';

type Row = Record<string, unknown>;

export interface ExistingRowsProgress {
  /** Rows brought up to date so far in this run. */
  readonly done: number;
  /** Rows that needed it when the run started. */
  readonly total: number;
  /** Rows that could not be (a legacy value not of the column's type, an unreadable envelope). */
  readonly failed: number;
  readonly rowsPerSecond: number;
}

export interface ExistingRowsResult extends ExistingRowsProgress {
  /** False when `signal` stopped the run: the next run continues where it stopped. */
  readonly completed: boolean;
  readonly durationMs: number;
}

export interface ExistingRowsOptions {
  /** Rows per batch (one transaction each); default 500. */
  batchSize?: number;
  onProgress?: (progress: ExistingRowsProgress) => void;
  /** Stops after the batch in flight. */
  signal?: AbortSignal;
}

/**
 * Brings a table's rows to what its encrypted columns require: legacy plaintext values are
 * sealed in place (the migration from a plaintext column, Rails' `support_unencrypted_data`), and
 * blind indexes that are missing or made under another master key are recomputed. In batches,
 * by primary key; resumable: only rows still needing work are selected, and each UPDATE is
 * guarded so a value written meanwhile by the application is never overwritten.
 */
export async function encryptExistingRows<Entity extends ObjectLiteral>(
  repository: Repository<Entity>,
  options: ExistingRowsOptions = {},
): Promise<ExistingRowsResult> {
  const plan = encryptedPlanOf(repository);
  const columns = EncryptedColumns.of(repository.manager.dataSource)!;
  if (plan.columns.some((column) => column.spec.tenant)) {
    throw new KmsConfigurationError(
      `encryptExistingRows does not yet serve ${plan.name}, whose columns are sealed per tenant: save() its rows through the entity instead`,
    );
  }
  const [primary, ...more] = plan.metadata.primaryColumns;
  if (!primary || more.length > 0) {
    throw new KmsConfigurationError(
      `encryptExistingRows needs ${plan.name} to have a single-column primary key`,
    );
  }
  const batchSize = options.batchSize ?? 500;
  const began = performance.now();
  const pending = pendingCondition(repository, plan);
  const total = await repository
    .createQueryBuilder('row')
    .where(pending.sql, pending.parameters)
    .getCount();
  let done = 0;
  let failed = 0;
  let after: unknown;
  const progress = (): ExistingRowsProgress => {
    const seconds = (performance.now() - began) / 1000;
    return { done, total, failed, rowsPerSecond: seconds > 0 ? Math.round(done / seconds) : 0 };
  };
  let completed = true;
  for (;;) {
    if (options.signal?.aborted) {
      completed = false;
      break;
    }
    const query = repository
      .createQueryBuilder('row')
      .where(pending.sql, pending.parameters)
      .orderBy(`row.${primary.propertyPath}`, 'ASC')
      .limit(batchSize)
      .callListeners(false);
    if (after !== undefined) query.andWhere(`row.${primary.propertyPath} > :after`, { after });
    const rows = (await query.getMany()) as Row[];
    if (rows.length === 0) break;
    after = primary.getEntityValue(rows[rows.length - 1]);
    const updates: RowUpdate[] = [];
    for (const row of rows) {
      try {
        const update = await updateOf(columns.codec, plan, row, (name) => quote(repository, name));
        if (update) updates.push(update);
      } catch (error) {
        if (!(error instanceof KmsError)) throw error;
        failed++;
      }
    }
    await repository.manager.transaction(async (manager) => {
      for (const update of updates) {
        const statement = manager
          .createQueryBuilder()
          .update(plan.metadata.target)
          .set(update.values)
          .where(`${quote(repository, primary.databaseName)} = :id`, {
            id: primary.getEntityValue(update.row),
          })
          .callListeners(false);
        update.guards.forEach((guard, at) =>
          statement.andWhere(guard.sql, { [`g${at}`]: guard.value }),
        );
        const result = await statement.execute();
        done += result.affected ?? 0;
      }
    });
    options.onProgress?.(progress());
    await new Promise((resolve) => setImmediate(resolve));
  }
  return { ...progress(), completed, durationMs: performance.now() - began };
}

interface RowUpdate {
  readonly row: Row;
  readonly values: Row;
  /** Conditions that hold only while the row still holds what this run read. */
  readonly guards: { sql: string; value: unknown }[];
}

/** What one row needs written; undefined when nothing (someone else got there first). */
async function updateOf(
  codec: ColumnCodec,
  plan: EntityPlan,
  row: Row,
  quoted: (name: string) => string,
): Promise<RowUpdate | undefined> {
  const rowId = plan.rowId(row)!;
  const plain: Row = { ...row };
  const legacy: ColumnPlan[] = [];
  const reindex: ColumnPlan[] = [];
  for (const column of plan.columns) {
    const stored = storedForm(row[column.property]);
    if (stored === null || stored === undefined) continue;
    const isEnvelope = isCompactEnvelopeText(stored);
    const staleIndex =
      column.blindIndex !== undefined &&
      !String(row[column.blindIndex.property] ?? '').startsWith(`${column.blindIndexKeys[0].tag}.`);
    if (isEnvelope && !staleIndex) continue;
    const aad = codec.bindingOrThrow(plan, column, row, rowId);
    plain[column.property] = await codec.open(plan, column, stored, aad, rowId, true);
    if (!isEnvelope) legacy.push(column);
    else reindex.push(column);
  }
  if (legacy.length === 0 && reindex.length === 0) return undefined;
  const sealed = codec.sealValues(plan, plain, legacy);
  const values: Row = {};
  const guards: RowUpdate['guards'] = [];
  for (const column of [...legacy, ...reindex]) {
    const at = guards.length;
    const name = quoted(column.column.databaseName);
    if (legacy.includes(column)) {
      values[column.property] = sealed.get(column.property);
      guards.push({ sql: notAnEnvelope(name, `g${at}`), value: `${COMPACT_PREFIX}.%` });
    } else {
      guards.push({ sql: `${name} = :g${at}`, value: storedForm(row[column.property]) });
    }
    if (column.blindIndex) {
      values[column.blindIndex.property] = plan.blindIndex(column, plain[column.property]);
    }
  }
  return { row, values, guards };
}

/** Rows with a legacy plaintext value, or a blind index missing or under another master key. */
function pendingCondition(
  repository: Repository<ObjectLiteral>,
  plan: EntityPlan,
): { sql: string; parameters: Record<string, string> } {
  const parts: string[] = [];
  const parameters: Record<string, string> = { envelope: `${COMPACT_PREFIX}.%` };
  // Store values are format v2 (`kms2.…`); a v1 value (`kms1.…`) is an envelope too.
  plan.columns.forEach((column, at) => {
    const value = quote(repository, column.column.databaseName);
    parts.push(`(${value} IS NOT NULL AND ${notAnEnvelope(value, 'envelope')})`);
    if (column.blindIndex) {
      const index = quote(repository, column.blindIndex.column.databaseName);
      parameters[`tag${at}`] = `${column.blindIndexKeys[0].tag}.%`;
      parts.push(`(${value} IS NOT NULL AND (${index} IS NULL OR ${index} NOT LIKE :tag${at}))`);
    }
  });
  return { sql: `(${parts.join(' OR ')})`, parameters };
}

/** SQL: `name` holds no compact envelope of either format; `:parameter` is `kms1.%`. */
function notAnEnvelope(name: string, parameter: string): string {
  return `(${name} NOT LIKE :${parameter} AND ${name} NOT LIKE '${PURPOSE_COMPACT_PREFIX}.%')`;
}

function quote(repository: Repository<ObjectLiteral>, name: string): string {
  return repository.manager.dataSource.driver.escape(name);
}
