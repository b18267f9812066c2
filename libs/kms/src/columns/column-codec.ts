import { ColumnDecryptionError } from '../errors/column-decryption.error.js';
import { ColumnWriteError } from '../errors/column-write.error.js';
import { KmsError } from '../errors/kms.error.js';
import { isCompactEnvelopeText } from '../envelope/envelope-codec.js';
import type { BatchResult } from '../interfaces/kms-batch.interface.js';
import type { ColumnCipher } from './column-cipher.js';
import { legacyValue, valueFromBytes, valueToBytes } from './column-value.js';
import type { ColumnPlan, EntityPlan } from './entity-plan.js';
import { SealedValue } from './sealed-value.js';

type Row = Record<string, unknown>;

/** A stored value of a loaded row, with what it is bound to. */
export interface StoredColumnValue {
  readonly plan: EntityPlan;
  readonly column: ColumnPlan;
  readonly stored: unknown;
  readonly aad: Buffer;
  readonly rowId: string;
}

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
      return storedPlaintext(plan, column, stored, rowId, acceptPlaintext);
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

  /**
   * The values of a load, opened together: legacy plaintexts as `open` reads them, envelopes in
   * one batch (each data key not in memory fetched once for all of them). The first value in
   * order that cannot be read is thrown, as `open` would have thrown it.
   */
  openAll(values: readonly StoredColumnValue[]): unknown[] | Promise<unknown[]> {
    const opened: unknown[] = [];
    const errors = new Map<number, Error>();
    const sealed: number[] = [];
    values.forEach(({ plan, column, stored, rowId }, at) => {
      if (isCompactEnvelopeText(stored)) {
        sealed.push(at);
        return;
      }
      try {
        opened[at] = storedPlaintext(plan, column, stored, rowId, column.spec.allowPlaintext);
      } catch (error) {
        errors.set(at, error as Error);
      }
    });
    const finish = (results: readonly BatchResult<Buffer>[]): unknown[] => {
      results.forEach((result, index) => {
        const at = sealed[index];
        const { plan, column, rowId } = values[at];
        try {
          if (!result.ok) throw result.error;
          opened[at] = valueFromBytes(column.spec.type, result.value);
        } catch (error) {
          errors.set(at, failure(plan, column, rowId, error));
        }
      });
      if (errors.size > 0) throw errors.get(Math.min(...errors.keys()));
      return opened;
    };
    const results = this.cipher.openMany(sealed.length, (index) => {
      const { stored, aad } = values[sealed[index]];
      return { value: stored, aad };
    });
    return results instanceof Promise ? results.then(finish) : finish(results);
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

/** A legacy plaintext as stored (read as is when `acceptPlaintext`), else refused. */
function storedPlaintext(
  plan: EntityPlan,
  column: ColumnPlan,
  stored: unknown,
  rowId: string,
  acceptPlaintext: boolean | undefined,
): unknown {
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
