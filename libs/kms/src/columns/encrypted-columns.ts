import type {
  DataSource,
  EntitySubscriberInterface,
  InsertEvent,
  LoadEvent,
  QueryRunner,
  TransactionRollbackEvent,
  UpdateEvent,
} from 'typeorm';
import { ColumnDecryptionError } from '../errors/column-decryption.error.js';
import { ColumnWriteError } from '../errors/column-write.error.js';
import { KmsError } from '../errors/kms.error.js';
import { isCompactEnvelopeText } from '../envelope/envelope-codec.js';
import type { EnvelopeColumn } from '../reencryption/envelope-column.js';
import { BlindIndexKey } from './blind-index-key.js';
import type { ColumnCipher } from './column-cipher.js';
import { legacyValue, valueFromBytes, valueToBytes } from './column-value.js';
import { EntityPlan, type ColumnPlan } from './entity-plan.js';
import { SealedValue, coverTargets, storedForm } from './sealed-value.js';

type Row = Record<string, unknown>;

/** Marks a property that was absent before sealing (restored by deleting it). */
const ABSENT = Symbol('absent');

const attached = new WeakMap<DataSource, EncryptedColumns>();

/**
 * The TypeORM subscriber behind @EncryptedColumn. A subscriber, not a column transformer:
 * transformers are synchronous and see one value, never its row, so they could not bind a
 * value to the row it belongs to. Values are sealed in beforeInsert/beforeUpdate (the entity
 * holds a SealedValue until afterInsert/afterUpdate or a rollback puts the plaintext back) and
 * opened in afterLoad, with keys in memory: no extra round trip.
 */
export class EncryptedColumns implements EntitySubscriberInterface {
  private readonly plans = new Map<Function | string, EntityPlan>();
  /** Plaintexts an entity held before sealing, put back after the write or its rollback. */
  private readonly originals = new WeakMap<object, Map<string, unknown>>();
  private readonly pending = new WeakMap<QueryRunner, Set<object>>();

  private constructor(
    private readonly dataSource: DataSource,
    private readonly cipher: ColumnCipher,
  ) {
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

  beforeInsert(event: InsertEvent<Row>): void {
    const plan = this.plans.get(event.metadata.target);
    if (!plan || !event.entity) return;
    plan.assignGeneratedKeys(event.entity);
    this.seal(plan, event.entity, plan.columns, event.queryRunner);
  }

  afterInsert(event: InsertEvent<Row>): void {
    if (event.entity) this.restore(event.entity, event.queryRunner);
  }

  beforeUpdate(event: UpdateEvent<Row>): void {
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
    const rowId = this.rowIdFor(plan, row, plan.columns[0]);
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
        this.remember(entity, column.property, ABSENT, event.queryRunner);
        entity[column.property] = stored[column.property];
      }
    }
    this.seal(plan, entity, reseal, event.queryRunner, row);
  }

  afterUpdate(event: UpdateEvent<Row>): void {
    if (event.entity) this.restore(event.entity as Row, event.queryRunner);
  }

  afterTransactionRollback(event: TransactionRollbackEvent): void {
    const entities = this.pending.get(event.queryRunner);
    if (!entities) return;
    this.pending.delete(event.queryRunner);
    for (const entity of entities) this.restore(entity as Row);
  }

  afterLoad(entity: Row, event?: LoadEvent<Row>): void | Promise<unknown> {
    const plan = event && this.plans.get(event.metadata.target);
    if (!plan) return;
    let waiting: Promise<void>[] | undefined;
    const rowId = plan.rowId(entity);
    // Every binding is computed before any property changes: aad() sees the row as stored.
    const opening: [ColumnPlan, unknown, Buffer][] = [];
    for (const column of plan.columns) {
      const stored = storedForm(entity[column.property]);
      if (stored === null || stored === undefined) continue;
      if (rowId === undefined) {
        throw this.unreadable(
          plan,
          column,
          '(unknown)',
          'KMS_ROW_ID_MISSING',
          'the primary key was not selected, and values are bound to it',
        );
      }
      opening.push([column, stored, this.bindingOrThrow(plan, column, entity, rowId)]);
    }
    for (const [column, stored, aad] of opening) {
      const opened = this.open(plan, column, stored, aad, rowId!);
      if (opened instanceof Promise) {
        (waiting ??= []).push(opened.then((value) => void (entity[column.property] = value)));
      } else {
        entity[column.property] = opened;
      }
    }
    if (waiting) return Promise.all(waiting);
  }

  // --- sealing and opening -----------------------------------------------------------------

  /** Replaces the plaintext of each of `columns` in `entity` by its sealed envelope. */
  sealValues(
    plan: EntityPlan,
    entity: Row,
    columns: readonly ColumnPlan[],
    bindingRow: Row = entity,
  ): Map<string, SealedValue> {
    const rowId = this.rowIdFor(plan, bindingRow, columns[0]);
    const sealed = new Map<string, SealedValue>();
    const bindings = columns.map((column) => plan.aad(column, bindingRow, rowId));
    columns.forEach((column, at) => {
      const value = entity[column.property];
      if (value === undefined || value === null || value instanceof SealedValue) return;
      const bytes = valueToBytes(column.spec.type, value, column.field);
      try {
        sealed.set(column.property, new SealedValue(this.cipher.seal(bytes, bindings[at])));
      } finally {
        if (column.spec.type !== 'buffer') bytes.fill(0);
      }
    });
    return sealed;
  }

  /**
   * The value a stored column holds: an envelope opened under its binding, or (`allowPlaintext`,
   * or `acceptPlaintext` for a migration) a legacy plaintext read as is.
   */
  open(
    plan: EntityPlan,
    column: ColumnPlan,
    stored: unknown,
    aad: Buffer,
    rowId: string,
    acceptPlaintext = column.spec.allowPlaintext,
  ): unknown {
    if (!isCompactEnvelopeText(stored)) {
      const legacy = acceptPlaintext ? legacyValue(column.spec.type, stored) : undefined;
      if (legacy !== undefined) return legacy;
      throw this.unreadable(
        plan,
        column,
        rowId,
        'KMS_PLAINTEXT_REFUSED',
        acceptPlaintext
          ? `the stored value is neither an envelope nor a ${column.spec.type}`
          : 'the stored value is not an envelope, and the column does not allow plaintext',
      );
    }
    try {
      const opened = this.cipher.open(stored, aad);
      if (!(opened instanceof Promise)) return valueFromBytes(column.spec.type, opened);
      return opened.then(
        (bytes) => valueFromBytes(column.spec.type, bytes),
        (error: unknown) => {
          throw this.failure(plan, column, rowId, error);
        },
      );
    } catch (error) {
      throw this.failure(plan, column, rowId, error);
    }
  }

  /** The binding of a loaded row's value, as a ColumnDecryptionError when aad() cannot say. */
  bindingOrThrow(plan: EntityPlan, column: ColumnPlan, row: Row, rowId: string): Buffer {
    try {
      return plan.aad(column, row, rowId);
    } catch (error) {
      throw this.failure(plan, column, rowId, error);
    }
  }

  private seal(
    plan: EntityPlan,
    entity: Row,
    columns: readonly ColumnPlan[],
    runner: QueryRunner,
    bindingRow: Row = entity,
  ): void {
    if (columns.length === 0) return;
    const sealed = this.sealValues(plan, entity, columns, bindingRow);
    for (const column of columns) {
      const value = entity[column.property];
      if (value === undefined || value instanceof SealedValue) continue;
      if (column.blindIndex) {
        entity[column.blindIndex.property] = value === null ? null : plan.blindIndex(column, value);
      }
      const envelope = sealed.get(column.property);
      if (!envelope) continue;
      this.remember(entity, column.property, value, runner);
      entity[column.property] = envelope;
    }
  }

  private rowIdFor(plan: EntityPlan, entity: Row, column: ColumnPlan): string {
    const rowId = plan.rowId(entity);
    if (rowId === undefined) {
      throw new ColumnWriteError(
        plan.name,
        column.property,
        'the row has no primary key to bind the value to',
      );
    }
    return rowId;
  }

  private remember(entity: Row, property: string, value: unknown, runner: QueryRunner): void {
    let held = this.originals.get(entity);
    if (!held) {
      held = new Map();
      this.originals.set(entity, held);
      let entities = this.pending.get(runner);
      if (!entities) this.pending.set(runner, (entities = new Set()));
      entities.add(entity);
    }
    if (!held.has(property)) held.set(property, value);
  }

  private restore(entity: Row, runner?: QueryRunner): void {
    const held = this.originals.get(entity);
    if (!held) return;
    this.originals.delete(entity);
    if (runner) this.pending.get(runner)?.delete(entity);
    for (const [property, value] of held) {
      if (value === ABSENT) delete entity[property];
      else entity[property] = value;
    }
  }

  private failure(plan: EntityPlan, column: ColumnPlan, rowId: string, error: unknown): Error {
    if (error instanceof ColumnDecryptionError || !(error instanceof KmsError))
      return error as Error;
    return this.unreadable(plan, column, rowId, error.code, error.message);
  }

  private unreadable(
    plan: EntityPlan,
    column: ColumnPlan,
    rowId: string,
    reason: string,
    detail: string,
  ): ColumnDecryptionError {
    return new ColumnDecryptionError(plan.name, column.property, rowId, reason, detail);
  }

  private async deriveBlindIndexKeys(): Promise<void> {
    const providers = this.cipher.masterKeys();
    for (const column of this.allColumns()) {
      if (!column.blindIndex) continue;
      const keys: BlindIndexKey[] = [];
      for (const provider of providers)
        keys.push(await BlindIndexKey.derive(provider, column.binding));
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
