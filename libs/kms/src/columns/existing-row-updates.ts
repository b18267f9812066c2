import { isCompactEnvelopeText } from '../envelope/envelope-codec.js';
import { COMPACT_PREFIX, PURPOSE_COMPACT_PREFIX } from '../envelope/envelope.constants.js';
import type { ColumnCodec } from './column-codec.js';
import type { ColumnPlan, EntityPlan } from './entity-plan.js';
import { storedForm } from './sealed-value.js';
import { tenantKeySets, type TenantKeySets } from './tenant-column-keys.js';

type Row = Record<string, unknown>;

export interface RowUpdate {
  readonly row: Row;
  readonly values: Row;
  /** Conditions that hold only while the row still holds what this run read. */
  readonly guards: { sql: string; value: unknown }[];
}

/** What one row needs: legacy values to seal, envelopes whose blind index is to be computed. */
export interface RowWork {
  readonly row: Row;
  readonly rowId: string;
  readonly legacy: readonly ColumnPlan[];
  readonly reindex: readonly ColumnPlan[];
  /** Tenants whose keys seal the legacy values (their first key made, as a save() makes it). */
  readonly sealing: ReadonlySet<string> | undefined;
  /** Tenants whose keys open the envelopes to re-index. */
  readonly opening: readonly string[];
}

/**
 * What one row needs done; undefined when nothing (someone else got there first). A row of a
 * tenant column that names no tenant, or an invalid one, is refused as save() refuses it.
 */
export function workOf(codec: ColumnCodec, plan: EntityPlan, row: Row): RowWork | undefined {
  const rowId = plan.rowId(row)!;
  const legacy: ColumnPlan[] = [];
  const reindex: ColumnPlan[] = [];
  const opening: string[] = [];
  for (const column of plan.columns) {
    const stored = storedForm(row[column.property]);
    if (stored === null || stored === undefined) continue;
    if (!isCompactEnvelopeText(stored)) legacy.push(column);
    else if (column.blindIndex !== undefined && !indexCurrent(column, row)) {
      reindex.push(column);
      const tenant = codec.tenantOrThrow(plan, column, row, rowId);
      if (tenant !== undefined) opening.push(tenant);
    }
  }
  if (legacy.length === 0 && reindex.length === 0) return undefined;
  const sealing = codec.sealingTenants(plan, row, legacy);
  return { row, rowId, legacy, reindex, sealing, opening };
}

/**
 * Whether a row's blind index of `column` is there and, for a column keyed by the keyring, under
 * its current key. A tenant column's index is keyed per tenant: only a missing one is computed.
 */
function indexCurrent(column: ColumnPlan, row: Row): boolean {
  const index = row[column.blindIndex!.property];
  if (column.spec.tenant) return index !== null && index !== undefined;
  return String(index ?? '').startsWith(`${column.blindIndexKeys[0].tag}.`);
}

/** The keys of every tenant a batch's rows need, each tenant's loaded once for all of them. */
export function batchKeys(
  codec: ColumnCodec,
  work: readonly RowWork[],
): TenantKeySets | Promise<TenantKeySets> {
  const sealing = new Set<string>();
  const tenants = new Set<string>();
  for (const { sealing: sealed, opening } of work) {
    for (const tenant of sealed ?? []) {
      sealing.add(tenant);
      tenants.add(tenant);
    }
    for (const tenant of opening) tenants.add(tenant);
  }
  return tenantKeySets(tenants, (tenant) => codec.tenantKeys(tenant, sealing.has(tenant)));
}

/** The row's new values, each guarded by what this run read. */
export async function updateOf(
  codec: ColumnCodec,
  plan: EntityPlan,
  { row, rowId, legacy, reindex }: RowWork,
  keys: TenantKeySets,
  quoted: (name: string) => string,
): Promise<RowUpdate> {
  const plain: Row = { ...row };
  for (const column of [...legacy, ...reindex]) {
    const stored = storedForm(row[column.property]);
    const aad = codec.bindingOrThrow(plan, column, row, rowId);
    const tenantKeys = codec.tenantSet(plan, column, row, keys);
    plain[column.property] = await codec.open(plan, column, stored, aad, rowId, true, tenantKeys);
  }
  const sealed = codec.sealValues(plan, plain, legacy, keys);
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
      values[column.blindIndex.property] = codec.blindIndex(
        plan,
        column,
        plain[column.property],
        plain,
        keys,
      );
    }
  }
  return { row, values, guards };
}

/** SQL: `name` holds no compact envelope of either format; `:parameter` is `kms1.%`. */
export function notAnEnvelope(name: string, parameter: string): string {
  return `(${name} NOT LIKE :${parameter} AND ${name} NOT LIKE '${PURPOSE_COMPACT_PREFIX}.%')`;
}
