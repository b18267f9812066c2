import type { DataSource } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata.js';
import { COMPACT_PREFIX, PURPOSE_COMPACT_PREFIX } from '../envelope/envelope.constants.js';
import type { EnvelopePurpose } from '../envelope/envelope.interface.js';
import { KmsDataKeyEntity } from '../entities/kms-data-key.entity.js';
import { KEYRING_ID, KmsKeyringEntity } from '../entities/kms-keyring.entity.js';
import { KmsConfigurationError } from '../errors/kms-configuration.error.js';
import {
  TENANT_KEY_ID_CHARS,
  TENANT_KEY_PREFIX,
  TENANT_KEY_TAG_END,
} from '../keyring/tenant-ids.js';
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
  /** The data keys' table (kms_data_keys) and the keyring's (kms_data_keys' master key), quoted. */
  readonly dataKeys: string;
  readonly keyring: string;
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
    dataKeys: tableName(dataSource, KmsDataKeyEntity),
    keyring: tableName(dataSource, KmsKeyringEntity),
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
 * anyKeyCondition, where "to move" (not `using`) means: the keyring's own envelopes not under
 * `keyId`, and tenants' envelopes under a retired key of their tenant (tenantToMove). A tenant's
 * envelope never counts as off the keyring's active key: it moves within its tenant's keys.
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
  const notTenant = plan.keyId
    ? `${column(plan.keyId)} NOT LIKE '${TENANT_KEY_PREFIX}%'`
    : `${column(plan.envelope)} NOT LIKE '${formatPrefix(plan)}${TENANT_KEY_PREFIX}%'`;
  return `(((${condition}) AND ${notTenant}) OR (${tenantToMove(plan, alias)}))`;
}

/**
 * A tenant's envelope (in the column's format) under a retired key of its tenant, where every
 * key of that tenant is wrapped under the keyring's master key: one primary-key lookup in
 * kms_data_keys per tenant envelope, whatever the number of tenants. A tenant under its own
 * master key is left out (its keys open only through its provider, asked by tenant name, which
 * re-encryption does not know); so is an envelope whose key is gone (unmovable).
 */
function tenantToMove(plan: ColumnPlan, alias?: string): string {
  const owner = alias ?? plan.table;
  return `${underTenantKey(plan, owner)} AND EXISTS (SELECT 1 FROM ${plan.dataKeys} kr WHERE kr.id = ${tenantKeyId(plan, owner)} AND kr.status = 'retired' AND kr.tenant IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ${plan.dataKeys} ko WHERE ko.tenant = kr.tenant AND ko.master_key_fingerprint <> (SELECT kk.master_key_fingerprint FROM ${plan.keyring} kk WHERE kk.id = '${KEYRING_ID}')))`;
}

/**
 * A tenant's envelope whose key no longer exists (its tenant destroyed): no run can move it, so
 * a run counts it as failed without reading it.
 */
export function unmovableCondition(plan: ColumnPlan): string {
  return `${underTenantKey(plan, plan.table)} AND NOT EXISTS (SELECT 1 FROM ${plan.dataKeys} kd WHERE kd.id = ${tenantKeyId(plan, plan.table)})`;
}

/**
 * For a column of copies (alias `t`, its source `c`): what a row is set to (the source's
 * envelope, and its key id where the table keeps one), and when: the source's envelope is in the
 * column's format under the keyring's `active` key, or under the active key of the tenant whose
 * key the row's own envelope names.
 */
export function copyFromSource(
  plan: ColumnPlan,
  active: string,
  parameters: StatementParameters,
): { sets: string[]; condition: string } {
  const source = `c.${plan.copy!.envelope}`;
  const prefix = formatPrefix(plan);
  const sourceKey = `substr(${source}, ${prefix.length + 1}, ${TENANT_KEY_ID_CHARS})`;
  const sourceIsTenant = `${source} LIKE '${prefix}${TENANT_KEY_PREFIX}%'`;
  // Bound in the order they appear in the statement: the sets before the WHERE.
  const sets = [`${plan.envelope} = ${source}`];
  if (plan.keyId) {
    const keyId = `CASE WHEN ${sourceIsTenant} THEN ${sourceKey} ELSE ${parameters.bind(active)} END`;
    sets.push(`${plan.keyId} = ${keyId}`);
  }
  const underActive = `${source} LIKE ${parameters.bind(currentFormatUnder(plan, active))} ESCAPE '\\'`;
  const sameTenant = `substr(${sourceKey}, 1, ${TENANT_KEY_TAG_END}) = substr(${tenantKeyId(plan, 't')}, 1, ${TENANT_KEY_TAG_END})`;
  const underTenantActive = `${sourceIsTenant} AND ${sameTenant} AND EXISTS (SELECT 1 FROM ${plan.dataKeys} ka WHERE ka.id = ${sourceKey} AND ka.status = 'active')`;
  return { sets, condition: `(${underActive} OR (${underTenantActive}))` };
}

/** Whether the row (of table or alias `owner`) holds a tenant's envelope in the column's format. */
function underTenantKey(plan: ColumnPlan, owner: string): string {
  if (plan.keyId) return `${owner}.${plan.keyId} LIKE '${TENANT_KEY_PREFIX}%'`;
  const envelope = `${owner}.${plan.envelope}`;
  const prefix = formatPrefix(plan);
  // The id's end checked too: its place in the envelope (tenantKeyId) is then exactly the id.
  return `${envelope} LIKE '${prefix}${TENANT_KEY_PREFIX}%' AND substr(${envelope}, ${prefix.length + TENANT_KEY_ID_CHARS + 1}, 1) = '.'`;
}

/** A tenant envelope's key id: its key id column, or its place in the envelope (fixed length). */
function tenantKeyId(plan: ColumnPlan, owner: string): string {
  if (plan.keyId) return `${owner}.${plan.keyId}`;
  return `substr(${owner}.${plan.envelope}, ${formatPrefix(plan).length + 1}, ${TENANT_KEY_ID_CHARS})`;
}

/** What precedes the key id in the column's own format: `kms1.`, or `kms2.<purpose>.`. */
function formatPrefix(plan: ColumnPlan): string {
  return plan.purpose === undefined
    ? `${COMPACT_PREFIX}.`
    : `${PURPOSE_COMPACT_PREFIX}.${plan.purpose}.`;
}

/**
 * A `LIKE` pattern for the envelopes in the column's own format under `keyId`: `kms2.<purpose>.`
 * for a store's column, `kms1.` for an application's.
 */
function currentFormatUnder(plan: ColumnPlan, keyId: string): string {
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
