import type {
  DataSource,
  EntitySubscriberInterface,
  InsertEvent,
  LoadEvent,
  QueryRunner,
  TransactionRollbackEvent,
  UpdateEvent,
} from 'typeorm';
import type { EnvelopeColumn } from '../reencryption/envelope-column.js';
import { BlindIndexKey } from './blind-index-key.js';
import type { ColumnCipher } from './column-cipher.js';
import { ColumnCodec } from './column-codec.js';
import { EntityPlan, type ColumnPlan } from './entity-plan.js';
import { LoadedRows } from './loaded-rows.js';
import { ABSENT, PendingPlaintexts } from './pending-plaintexts.js';
import { coverTargets } from './column-coverage.js';
import { SealedValue } from './sealed-value.js';
import type { TenantKeySets } from './tenant-column-keys.js';

type Row = Record<string, unknown>;

const attached = new WeakMap<DataSource, EncryptedColumns>();

/**
 * The TypeORM subscriber behind @EncryptedColumn. A subscriber, not a column transformer:
 * transformers are synchronous and see one value, never its row, so they could not bind a
 * value to the row it belongs to. Values are sealed in beforeInsert/beforeUpdate (the entity
 * holds a SealedValue until afterInsert/afterUpdate or a rollback puts the plaintext back) and
 * opened after afterLoad, all the rows of a load together, with keys in memory: no extra round
 * trip.
 */
export class EncryptedColumns implements EntitySubscriberInterface {
  private readonly plans = new Map<Function | string, EntityPlan>();
  private readonly pending = new PendingPlaintexts();
  /** Seals and opens the values (also for encryptExistingRows). */
  readonly codec: ColumnCodec;
  private readonly loaded: LoadedRows;

  private constructor(
    private readonly dataSource: DataSource,
    private readonly cipher: ColumnCipher,
  ) {
    this.codec = new ColumnCodec(cipher);
    this.loaded = new LoadedRows(this.codec);
    for (const metadata of dataSource.entityMetadatas) {
      const plan = EntityPlan.of(metadata);
      if (plan) this.plans.set(metadata.target, plan);
    }
  }

  /**
   * Serves every entity of `dataSource` with encrypted columns (none: returns undefined). Their
   * columns are registered through `registerColumn` for re-encryption.
   */
  static async attach(
    dataSource: DataSource,
    cipher: ColumnCipher,
    registerColumn: (column: EnvelopeColumn) => void,
  ): Promise<EncryptedColumns | undefined> {
    const columns = new EncryptedColumns(dataSource, cipher);
    if (columns.plans.size === 0) return undefined;
    await columns.deriveBlindIndexKeys();
    for (const plan of columns.plans.values()) {
      for (const column of plan.columns) {
        registerColumn({
          entity: plan.metadata.target as Function,
          envelope: column.property,
          purpose: 'column',
        });
      }
    }
    dataSource.subscribers.push(columns);
    attached.set(dataSource, columns);
    coverTargets(columns.declaringClasses(), 1);
    return columns;
  }

  /** The attachment serving `dataSource`, if any. */
  static of(dataSource: DataSource): EncryptedColumns | undefined {
    return attached.get(dataSource);
  }

  detach(): void {
    const at = this.dataSource.subscribers.indexOf(this);
    if (at >= 0) this.dataSource.subscribers.splice(at, 1);
    if (attached.get(this.dataSource) === this) attached.delete(this.dataSource);
    coverTargets(this.declaringClasses(), -1);
    for (const column of this.allColumns()) {
      for (const key of column.blindIndexKeys) key.destroy();
      column.blindIndexKeys = [];
    }
  }

  /**
   * After a master-key rotation in this process: indexes are computed under the new key, and
   * looked up under both until the process restarts (run encryptExistingRows() to re-index).
   */
  async masterKeyRotated(): Promise<void> {
    const held = this.allColumns().map((column) => column.blindIndexKeys);
    await this.deriveBlindIndexKeys();
    this.allColumns().forEach((column, at) => {
      const current = column.blindIndexKeys[0];
      column.blindIndexKeys.push(...held[at].filter((key) => key.tag !== current?.tag));
    });
  }

  /** The plan of an entity class; undefined when it has no encrypted columns. */
  planOf(entity: Function | string): EntityPlan | undefined {
    return this.plans.get(entity);
  }

  // --- subscriber events -------------------------------------------------------------------

  beforeInsert(event: InsertEvent<Row>): void | Promise<void> {
    const plan = this.plans.get(event.metadata.target);
    if (!plan || !event.entity) return;
    plan.assignGeneratedKeys(event.entity);
    return this.seal(plan, event.entity, plan.columns, event.queryRunner);
  }

  afterInsert(event: InsertEvent<Row>): void {
    if (event.entity) this.pending.restore(event.entity, event.queryRunner);
  }

  beforeUpdate(event: UpdateEvent<Row>): void | Promise<void> {
    const plan = this.plans.get(event.metadata.target);
    const entity = event.entity as Row | undefined;
    if (!plan || !entity) return;
    const stored = event.databaseEntity as Row | undefined;
    if (!stored) {
      plan.checkWriteByCriteria(entity);
      return;
    }
    // A partial save() keeps the stored values of what it leaves out: bind to the row as written.
    const row = { ...stored, ...definedProperties(entity) };
    const rowId = this.codec.rowIdFor(plan, row, plan.columns[0]);
    const before = plan.rowId(stored);
    const changed = new Set(event.updatedColumns);
    const reseal = plan.columns.filter((column) => {
      if (entity[column.property] instanceof SealedValue) return false;
      if (changed.has(column.column)) return true;
      // Bound to something that changed (an aad() input): sealed again under the new binding.
      return (
        before !== rowId || !plan.aad(column, row, rowId).equals(plan.aad(column, stored, before!))
      );
    });
    for (const column of reseal) {
      // Absent from a partial save(): the stored value, opened by afterLoad, is sealed again.
      if (entity[column.property] === undefined) {
        this.pending.remember(entity, column.property, ABSENT, event.queryRunner);
        entity[column.property] = stored[column.property];
      }
    }
    return this.seal(plan, entity, reseal, event.queryRunner, row);
  }

  afterUpdate(event: UpdateEvent<Row>): void {
    if (event.entity) this.pending.restore(event.entity as Row, event.queryRunner);
  }

  afterTransactionRollback(event: TransactionRollbackEvent): void {
    this.pending.rolledBack(event.queryRunner);
  }

  afterLoad(entity: Row, event?: LoadEvent<Row>): void | Promise<unknown> {
    const plan = event && this.plans.get(event.metadata.target);
    if (plan) return this.loaded.add(plan, entity);
  }

  /** Seals now, or once the tenants' keys a tenant column needs are loaded (their first made). */
  private seal(
    plan: EntityPlan,
    entity: Row,
    columns: readonly ColumnPlan[],
    runner: QueryRunner,
    bindingRow: Row = entity,
  ): void | Promise<void> {
    if (columns.length === 0) return;
    const keys = this.codec.sealingKeys(plan, entity, columns, bindingRow);
    if (keys instanceof Promise) {
      return keys.then((loaded) =>
        this.sealWith(plan, entity, columns, runner, bindingRow, loaded),
      );
    }
    this.sealWith(plan, entity, columns, runner, bindingRow, keys);
  }

  private sealWith(
    plan: EntityPlan,
    entity: Row,
    columns: readonly ColumnPlan[],
    runner: QueryRunner,
    bindingRow: Row,
    keys: TenantKeySets,
  ): void {
    const sealed = this.codec.sealValues(plan, entity, columns, keys, bindingRow);
    for (const column of columns) {
      const value = entity[column.property];
      if (value === undefined || value instanceof SealedValue) continue;
      if (column.blindIndex) {
        entity[column.blindIndex.property] =
          value === null ? null : this.codec.blindIndex(plan, column, value, bindingRow, keys);
      }
      const envelope = sealed.get(column.property);
      if (!envelope) continue;
      this.pending.remember(entity, column.property, value, runner);
      entity[column.property] = envelope;
    }
  }

  /**
   * Each indexed column's keys: the one under the index root key first (indexes are written
   * with it), then those of the master keys held that can derive (indexes written before the
   * keyring had an index root key), which lookups still match until encryptExistingRows()
   * re-indexes the rows.
   */
  private async deriveBlindIndexKeys(): Promise<void> {
    const providers = this.cipher.masterKeys();
    const indexRoot = this.cipher.indexRootKey();
    for (const column of this.allColumns()) {
      // A tenant column's index is keyed per tenant (BlindIndexKey.ofTenant), not by the keyring.
      if (!column.blindIndex || column.spec.tenant) continue;
      const keys = [BlindIndexKey.fromIndexRoot(indexRoot, column.binding)];
      for (const provider of providers) {
        const legacy = await BlindIndexKey.fromMasterKey(provider, column.binding);
        if (legacy && keys.every((key) => key.tag !== legacy.tag)) keys.push(legacy);
        else legacy?.destroy();
      }
      column.blindIndexKeys = keys;
    }
  }

  private allColumns(): ColumnPlan[] {
    return [...this.plans.values()].flatMap((plan) => [...plan.columns]);
  }

  private declaringClasses(): Set<Function> {
    return new Set(this.allColumns().map((column) => column.spec.target));
  }
}

/** The properties a (possibly partial) entity sets. */
function definedProperties(entity: Row): Row {
  const defined: Row = {};
  for (const [key, value] of Object.entries(entity)) if (value !== undefined) defined[key] = value;
  return defined;
}
