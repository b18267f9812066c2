import { ColumnDecryptionError } from '../errors/column-decryption.error.js';
import { ColumnWriteError } from '../errors/column-write.error.js';
import { KmsError } from '../errors/kms.error.js';
import { isCompactEnvelopeText } from '../envelope/envelope-codec.js';
import type { BatchResult } from '../interfaces/kms-batch.interface.js';
import type { KeySource } from '../keyring/key-source.js';
import type { TenantKeySet } from '../keyring/tenant-key-set.js';
import { BlindIndexKey } from './blind-index-key.js';
import type { ColumnCipher } from './column-cipher.js';
import { legacyValue, valueFromBytes, valueToBytes } from './column-value.js';
import type { ColumnPlan, EntityPlan } from './entity-plan.js';
import { SealedValue } from './sealed-value.js';
import { openPerTenant, tenantKeySets, type TenantKeySets } from './tenant-column-keys.js';

type Row = Record<string, unknown>;

const NO_TENANTS: TenantKeySets = new Map();

/** A stored value of a loaded row, with what it is bound to. */
export interface StoredColumnValue {
  readonly plan: EntityPlan;
  readonly column: ColumnPlan;
  readonly stored: unknown;
  readonly aad: Buffer;
  readonly rowId: string;
  /** The row's tenant, for a tenant column. */
  readonly tenant: string | undefined;
}

/**
 * An encrypted column's values to and from what the database stores: each value sealed under
 * the active data key and bound to its row (the binding an entity's plan computes), and opened
 * back into its declared type. Failures name the entity, the property and the row.
 */
export class ColumnCodec {
  constructor(private readonly cipher: ColumnCipher) {}

  /**
   * The key sets of the tenants whose keys seal the values of `columns` in `entity` (bound as
   * `bindingRow`), each tenant's first key made now; refused as sealingTenants refuses.
   */
  sealingKeys(
    plan: EntityPlan,
    entity: Row,
    columns: readonly ColumnPlan[],
    bindingRow: Row = entity,
  ): TenantKeySets | Promise<TenantKeySets> {
    const tenants = this.sealingTenants(plan, entity, columns, bindingRow);
    if (!tenants) return NO_TENANTS;
    return tenantKeySets(tenants, (tenant) => this.cipher.tenantKeys(tenant, true));
  }

  /**
   * The tenants whose keys seal the values of `columns` in `entity` (bound as `bindingRow`);
   * undefined when none does. Before anything is written: ColumnWriteError where a tenant column
   * has a value and the row names no tenant, InvalidTenantError where it names an invalid one.
   */
  sealingTenants(
    plan: EntityPlan,
    entity: Row,
    columns: readonly ColumnPlan[],
    bindingRow: Row = entity,
  ): Set<string> | undefined {
    let tenants: Set<string> | undefined;
    for (const column of columns) {
      const value = entity[column.property];
      if (!column.spec.tenant || value === undefined || value === null) continue;
      if (value instanceof SealedValue) continue;
      const tenant = plan.tenantOf(column, bindingRow);
      if (tenant === null) {
        throw new ColumnWriteError(
          plan.name,
          column.property,
          "the row names no tenant, and the column's values are sealed under their tenant's keys",
        );
      }
      (tenants ??= new Set()).add(tenant!);
    }
    return tenants;
  }

  /**
   * Replaces the plaintext of each of `columns` in `entity` by its sealed envelope, a tenant
   * column's under its tenant's keys (among `keys`, from sealingKeys).
   */
  sealValues(
    plan: EntityPlan,
    entity: Row,
    columns: readonly ColumnPlan[],
    keys: TenantKeySets = NO_TENANTS,
    bindingRow: Row = entity,
  ): Map<string, SealedValue> {
    const rowId = this.rowIdFor(plan, bindingRow, columns[0]);
    const sealed = new Map<string, SealedValue>();
    const bindings = columns.map((column) => plan.aad(column, bindingRow, rowId));
    columns.forEach((column, at) => {
      const value = entity[column.property];
      if (value === undefined || value === null || value instanceof SealedValue) return;
      const source = this.tenantSet(plan, column, bindingRow, keys);
      const bytes = valueToBytes(column.spec.type, value, column.field);
      try {
        sealed.set(column.property, new SealedValue(this.cipher.seal(bytes, bindings[at], source)));
      } finally {
        if (column.spec.type !== 'buffer') bytes.fill(0);
      }
    });
    return sealed;
  }

  /** The blind index of `value` of `column` in `row`: a tenant column's under its tenant's key. */
  blindIndex(
    plan: EntityPlan,
    column: ColumnPlan,
    value: unknown,
    row: Row,
    keys: TenantKeySets = NO_TENANTS,
  ): string {
    const tenantKeys = this.tenantSet(plan, column, row, keys);
    if (!tenantKeys) return plan.blindIndex(column, value);
    return plan.blindIndex(column, value, BlindIndexKey.ofTenant(tenantKeys, column.binding));
  }

  /** A tenant's keys (for blind-index lookups): see ColumnCipher.tenantKeys. */
  tenantKeys(tenant: string, sealing: boolean): TenantKeySet | Promise<TenantKeySet> {
    return this.cipher.tenantKeys(tenant, sealing);
  }

  /** The key set of the row's tenant for `column`, among `keys`; undefined: the keyring's own. */
  tenantSet(
    plan: EntityPlan,
    column: ColumnPlan,
    row: Row,
    keys: TenantKeySets,
  ): TenantKeySet | undefined {
    const tenant = plan.tenantOf(column, row);
    return tenant ? keys.get(tenant) : undefined;
  }

  /**
   * The value a stored column holds: an envelope opened under its binding (with `keys`: a tenant
   * column's, its tenant's), or (`allowPlaintext`, or `acceptPlaintext` for a migration) a legacy
   * plaintext read as is.
   */
  open(
    plan: EntityPlan,
    column: ColumnPlan,
    stored: unknown,
    aad: Buffer,
    rowId: string,
    acceptPlaintext = column.spec.allowPlaintext,
    keys?: KeySource,
  ): unknown {
    if (!isCompactEnvelopeText(stored)) {
      return storedPlaintext(plan, column, stored, rowId, acceptPlaintext);
    }
    try {
      const opened = this.cipher.open(stored, aad, keys);
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
    const results = openPerTenant(this.cipher, values, sealed);
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

  /**
   * The tenant whose keys open a loaded row's value (undefined: the keyring's own), as a
   * ColumnDecryptionError when the row of a tenant column names none or an invalid one.
   */
  tenantOrThrow(plan: EntityPlan, column: ColumnPlan, row: Row, rowId: string): string | undefined {
    let tenant: string | null | undefined;
    try {
      tenant = plan.tenantOf(column, row);
    } catch (error) {
      throw failure(plan, column, rowId, error);
    }
    if (tenant === null) {
      throw unreadable(
        plan,
        column,
        rowId,
        'KMS_TENANT_MISSING',
        "the row names no tenant, and the value is sealed under its tenant's keys",
      );
    }
    return tenant;
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
  retryable = false,
): ColumnDecryptionError {
  return new ColumnDecryptionError(plan.name, column.property, rowId, reason, detail, retryable);
}

function failure(plan: EntityPlan, column: ColumnPlan, rowId: string, error: unknown): Error {
  if (error instanceof ColumnDecryptionError || !(error instanceof KmsError)) {
    return error as Error;
  }
  const retryable = (error as { retryable?: unknown }).retryable === true;
  return unreadable(plan, column, rowId, error.code, error.message, retryable);
}
