import type { DataSource } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata.js';
import { COMPACT_PREFIX, PURPOSE_COMPACT_PREFIX } from '../envelope/envelope.constants.js';
import type { EnvelopePurpose } from '../envelope/envelope.interface.js';
import { KmsConfigurationError } from '../errors/kms-configuration.error.js';
import { TENANT_KEY_PREFIX } from '../keyring/tenant-ids.js';
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
  /** Where the column's values are copies of another column's (EnvelopeColumn.copyOf). */
  readonly copy: CopyPlan | undefined;
}

/** The source of a column's copies, in quoted SQL names. */
export interface CopyPlan {
  readonly table: string;
  readonly envelope: string;
  /** Pairs of equal columns: this table's and the source's. */
  readonly join: readonly { readonly target: string; readonly source: string }[];
}

/** A statement's parameters in order, with placeholders numbered on Postgres. */
export class StatementParameters {
  readonly values: unknown[] = [];

  constructor(private readonly postgres: boolean) {}

  /** The placeholder of `value`, added as the next parameter. */
  bind(value: unknown): string {
    this.values.push(value);
    return this.postgres ? `$${this.values.length}` : '?';
  }
}

/**
 * `column`, looked up in the DataSource's metadata; a copy's source must be among `registered`
 * (its purpose the same).
 */
export function planColumn(
  dataSource: DataSource,
  column: EnvelopeColumn,
  registered: readonly EnvelopeColumn[],
): ColumnPlan {
  const { metadata, find, named } = entityNames(dataSource, column.entity);
  const postgres = dataSource.options.type === 'postgres';
  return {
    label: `${metadata.tableName}.${find(column.envelope).databaseName}`,
    table: tableName(dataSource, column.entity),
    primaryKey: metadata.primaryColumns.map((primary) => ({
      name: quote(dataSource, primary),
      pgType: postgres ? dataSource.driver.normalizeType(primary) : '',
    })),
    envelope: named(column.envelope),
    keyId: column.keyId ? named(column.keyId) : undefined,
    purpose: column.purpose,
    postgres,
    copy: column.copyOf ? planCopy(dataSource, column, registered) : undefined,
  };
}

function planCopy(
  dataSource: DataSource,
  column: EnvelopeColumn,
  registered: readonly EnvelopeColumn[],
): CopyPlan {
  const copyOf = column.copyOf!;
  const source = registered.find(
    (candidate) => candidate.entity === copyOf.entity && candidate.envelope === copyOf.envelope,
  );
  if (!source || source.purpose !== column.purpose || source.copyOf) {
    throw new KmsConfigurationError(
      `${column.entity.name}.${column.envelope} copies ${copyOf.entity.name}.${copyOf.envelope}, which must be a registered envelope column of the same purpose that is no copy itself`,
    );
  }
  const target = entityNames(dataSource, column.entity);
  const origin = entityNames(dataSource, copyOf.entity);
  return {
    table: tableName(dataSource, copyOf.entity),
    envelope: origin.named(copyOf.envelope),
    join: Object.entries(copyOf.join).map(([property, sourceProperty]) => ({
      target: target.named(property),
      source: origin.named(sourceProperty),
    })),
  };
}

function entityNames(dataSource: DataSource, entity: Function) {
  if (!dataSource.hasMetadata(entity)) {
    throw new KmsConfigurationError(
      `the envelope column's entity ${entity.name} is not in the KMS DataSource`,
    );
  }
  const metadata = dataSource.getMetadata(entity);
  const find = (property: string): ColumnMetadata => {
    const found = metadata.findColumnWithPropertyName(property);
    if (!found) {
      throw new KmsConfigurationError(`${metadata.name} has no column for property ${property}`);
    }
    return found;
  };
  const named = (property: string): string => quote(dataSource, find(property));
  return { metadata, find, named };
}

function tableName(dataSource: DataSource, entity: Function): string {
  const { tablePath } = dataSource.getMetadata(entity);
  return tablePath
    .split('.')
    .map((part) => dataSource.driver.escape(part))
    .join('.');
}

function quote(dataSource: DataSource, column: ColumnMetadata): string {
  return dataSource.driver.escape(column.databaseName);
}

/**
 * "Under `keyId`" (using) or "to move off `keyId`": the key id column where the table has
 * one, else the compact envelope's prefix (`kms1.<keyId>.`, or for a store's column
 * `kms2.<purpose>.<keyId>.`). A store's column may still hold format-v1 values: they count as
 * under their key, and, with `legacy`, as to move whatever their key. Column names are
 * qualified with `alias` when given.
 */
function anyKeyCondition(
  plan: ColumnPlan,
  keyId: string,
  using: boolean,
  legacy: boolean,
  parameters: StatementParameters,
  alias?: string,
): string {
  const column = (name: string) => (alias ? `${alias}.${name}` : name);
  const envelope = column(plan.envelope);
  const v1 = `${COMPACT_PREFIX}.`;
  if (plan.purpose === undefined) {
    if (plan.keyId) return `${column(plan.keyId)} ${using ? '=' : '<>'} ${parameters.bind(keyId)}`;
    const prefix = parameters.bind(`${v1}${escapeLike(keyId)}.%`);
    return using
      ? `${envelope} LIKE ${prefix} ESCAPE '\\'`
      : `${envelope} LIKE '${v1}%' AND ${envelope} NOT LIKE ${prefix} ESCAPE '\\'`;
  }
  const isV1 = `${envelope} LIKE '${v1}%'`;
  if (plan.keyId) {
    const key = column(plan.keyId);
    if (using) return `${key} = ${parameters.bind(keyId)}`;
    return `(${key} <> ${parameters.bind(keyId)} ${legacy ? `OR ${isV1}` : `AND NOT ${isV1}`})`;
  }
  if (using) {
    const v1Under = parameters.bind(`${v1}${escapeLike(keyId)}.%`);
    const v2Under = parameters.bind(purposePrefix(plan.purpose, keyId));
    return `(${envelope} LIKE ${v1Under} ESCAPE '\\' OR ${envelope} LIKE ${v2Under} ESCAPE '\\')`;
  }
  const v2 = `${PURPOSE_COMPACT_PREFIX}.${plan.purpose}.`;
  const v2Elsewhere = `(${envelope} LIKE '${v2}%' AND ${envelope} NOT LIKE ${parameters.bind(purposePrefix(plan.purpose, keyId))} ESCAPE '\\')`;
  return legacy ? `(${v2Elsewhere} OR ${isV1})` : v2Elsewhere;
}

/**
 * anyKeyCondition, where the envelopes not under `keyId` leave tenants' envelopes out: those
 * stay under their tenant's keys, so moving the keyring's envelopes never touches them.
 */
export function keyCondition(
  plan: ColumnPlan,
  keyId: string,
  using: boolean,
  legacy: boolean,
  parameters: StatementParameters,
  alias?: string,
): string {
  const condition = anyKeyCondition(plan, keyId, using, legacy, parameters, alias);
  if (using) return condition;
  const column = (name: string) => (alias ? `${alias}.${name}` : name);
  if (plan.keyId)
    return `(${condition}) AND ${column(plan.keyId)} NOT LIKE '${TENANT_KEY_PREFIX}%'`;
  const format =
    plan.purpose === undefined ? COMPACT_PREFIX : `${PURPOSE_COMPACT_PREFIX}.${plan.purpose}`;
  return `(${condition}) AND ${column(plan.envelope)} NOT LIKE '${format}.${TENANT_KEY_PREFIX}%'`;
}

/**
 * A `LIKE` pattern for the envelopes in the column's own format under `keyId`: `kms2.<purpose>.`
 * for a store's column, `kms1.` for an application's.
 */
export function currentFormatUnder(plan: ColumnPlan, keyId: string): string {
  return plan.purpose === undefined
    ? `${COMPACT_PREFIX}.${escapeLike(keyId)}.%`
    : purposePrefix(plan.purpose, keyId);
}

function purposePrefix(purpose: EnvelopePurpose, keyId: string): string {
  return `${PURPOSE_COMPACT_PREFIX}.${purpose}.${escapeLike(keyId)}.%`;
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (character) => `\\${character}`);
}
