import { unreadable, type ColumnCodec, type StoredColumnValue } from './column-codec.js';
import type { EntityPlan } from './entity-plan.js';
import { storedForm } from './sealed-value.js';

type Row = Record<string, unknown>;

/**
 * The rows of one load, opened together. TypeORM sends afterLoad row by row in one synchronous
 * loop and then awaits what the calls returned, so the rows a loop hands over are gathered and
 * opened once it has ended (a microtask later): one batch through the keyring for a `find()` of
 * 1,000 rows, one promise for all of them, each data key not in memory fetched once.
 */
export class LoadedRows {
  private rows: [EntityPlan, Row][] = [];
  private opening: Promise<void> | undefined;

  constructor(private readonly codec: ColumnCodec) {}

  /** Adds a loaded row; the promise settles once every row of its load is open. */
  add(plan: EntityPlan, entity: Row): Promise<void> {
    this.rows.push([plan, entity]);
    this.opening ??= Promise.resolve().then(() => this.openGathered());
    return this.opening;
  }

  private openGathered(): void | Promise<void> {
    const rows = this.rows;
    this.rows = [];
    this.opening = undefined;
    const values: StoredColumnValue[] = [];
    const owners: Row[] = [];
    for (const [plan, entity] of rows) {
      const rowId = plan.rowId(entity);
      // Every binding is computed before any property changes: aad() sees the row as stored.
      for (const column of plan.columns) {
        const stored = storedForm(entity[column.property]);
        if (stored === null || stored === undefined) continue;
        if (rowId === undefined) {
          throw unreadable(
            plan,
            column,
            '(unknown)',
            'KMS_ROW_ID_MISSING',
            'the primary key was not selected, and values are bound to it',
          );
        }
        const aad = this.codec.bindingOrThrow(plan, column, entity, rowId);
        const tenant = this.codec.tenantOrThrow(plan, column, entity, rowId);
        values.push({ plan, column, stored, aad, rowId, tenant });
        owners.push(entity);
      }
    }
    const assign = (opened: unknown[]): void => {
      opened.forEach((value, at) => (owners[at][values[at].column.property] = value));
    };
    const opened = this.codec.openAll(values);
    return opened instanceof Promise ? opened.then(assign) : assign(opened);
  }
}
