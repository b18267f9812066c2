import { ColumnDecryptionError } from '../errors/column-decryption.error.js';
import { ColumnWriteError } from '../errors/column-write.error.js';
import { KmsError } from '../errors/kms.error.js';
import { isCompactEnvelopeText } from '../envelope/envelope-codec.js';
import type { ColumnCipher } from './column-cipher.js';
import { legacyValue, valueFromBytes, valueToBytes } from './column-value.js';
import type { ColumnPlan, EntityPlan } from './entity-plan.js';
import { SealedValue } from './sealed-value.js';

type Row = Record<string, unknown>;

/**
 * An encrypted column's values to and from what the database stores: each value sealed under
 * the active data key and bound to its row (the binding an entity's plan computes), and opened
 * back into its declared type. Failures name the entity, the property and the row.
 */
export class ColumnCodec {
  constructor(private readonly cipher: ColumnCipher) {}

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
      throw unreadable(
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
          throw failure(plan, column, rowId, error);
        },
      );
    } catch (error) {
      throw failure(plan, column, rowId, error);
    }
  }

  /** The binding of a loaded row's value, as a ColumnDecryptionError when aad() cannot say. */
  bindingOrThrow(plan: EntityPlan, column: ColumnPlan, row: Row, rowId: string): Buffer {
    try {
      return plan.aad(column, row, rowId);
    } catch (error) {
      throw failure(plan, column, rowId, error);
    }
  }

  /** The id values are bound to; a row without one cannot be written. */
  rowIdFor(plan: EntityPlan, entity: Row, column: ColumnPlan): string {
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
}

/** A column value that cannot be read, naming where it is. */
export function unreadable(
  plan: EntityPlan,
  column: ColumnPlan,
  rowId: string,
  reason: string,
  detail: string,
): ColumnDecryptionError {
  return new ColumnDecryptionError(plan.name, column.property, rowId, reason, detail);
}

function failure(plan: EntityPlan, column: ColumnPlan, rowId: string, error: unknown): Error {
  if (error instanceof ColumnDecryptionError || !(error instanceof KmsError)) {
    return error as Error;
  }
  return unreadable(plan, column, rowId, error.code, error.message);
}
