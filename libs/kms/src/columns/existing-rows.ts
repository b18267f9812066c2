import type { ObjectLiteral, Repository } from 'typeorm';
import { COMPACT_PREFIX } from '../envelope/envelope.constants.js';
import { KmsConfigurationError } from '../errors/kms-configuration.error.js';
import { KmsError } from '../errors/kms.error.js';
import { encryptedPlanOf } from './blind-index.js';
import { EncryptedColumns } from './encrypted-columns.js';
import type { EntityPlan } from './entity-plan.js';
import {
  batchKeys,
  notAnEnvelope,
  updateOf,
  workOf,
  type RowUpdate,
  type RowWork,
} from './existing-row-updates.js';

type Row = Record<string, unknown>;

export interface ExistingRowsProgress {
  /** Rows brought up to date so far in this run. */
  readonly done: number;
  /** Rows that needed it when the run started. */
  readonly total: number;
  /**
   * Rows that could not be, left as they are: a legacy value not of the column's type, an
   * unreadable envelope, a value of a tenant column in a row that names no tenant or an invalid one.
   */
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
 * blind indexes that are missing or made under another master key are recomputed. A tenant
 * column's values are sealed, and its missing indexes computed, under the keys of the row's
 * tenant, as save() would (each tenant's keys loaded once per batch). In batches, by primary
 * key; resumable: only rows still needing work are selected, and each UPDATE is guarded so a
 * value written meanwhile by the application is never overwritten.
 */
export async function encryptExistingRows<Entity extends ObjectLiteral>(
  repository: Repository<Entity>,
  options: ExistingRowsOptions = {},
): Promise<ExistingRowsResult> {
  const plan = encryptedPlanOf(repository);
  const columns = EncryptedColumns.of(repository.manager.dataSource)!;
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
    const work: RowWork[] = [];
    for (const row of rows) {
      const found = await counted(() => workOf(columns.codec, plan, row));
      if (found === FAILED) failed++;
      else if (found) work.push(found);
    }
    const keys = await batchKeys(columns.codec, work);
    const updates: RowUpdate[] = [];
    for (const item of work) {
      const update = await counted(() =>
        updateOf(columns.codec, plan, item, keys, (name) => quote(repository, name)),
      );
      if (update === FAILED) failed++;
      else updates.push(update);
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

const FAILED = Symbol('failed');

/** What `step` answers, or FAILED where it refuses the row (a KmsError); anything else is thrown. */
async function counted<T>(step: () => T | Promise<T>): Promise<T | typeof FAILED> {
  try {
    return await step();
  } catch (error) {
    if (!(error instanceof KmsError)) throw error;
    return FAILED;
  }
}

/**
 * Rows with a legacy plaintext value, or a blind index missing (or, keyed by the keyring, under
 * another of its keys).
 */
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
    if (column.blindIndex && column.spec.tenant) {
      const index = quote(repository, column.blindIndex.column.databaseName);
      parts.push(`(${value} IS NOT NULL AND ${index} IS NULL)`);
    } else if (column.blindIndex) {
      const index = quote(repository, column.blindIndex.column.databaseName);
      parameters[`tag${at}`] = `${column.blindIndexKeys[0].tag}.%`;
      parts.push(`(${value} IS NOT NULL AND (${index} IS NULL OR ${index} NOT LIKE :tag${at}))`);
    }
  });
  return { sql: `(${parts.join(' OR ')})`, parameters };
}

function quote(repository: Repository<ObjectLiteral>, name: string): string {
  return repository.manager.dataSource.driver.escape(name);
}
