import {
  In,
  type FindManyOptions,
  type FindOperator,
  type FindOptionsWhere,
  type ObjectLiteral,
  type Repository,
} from 'typeorm';
import { checkTenant } from '../envelope/tenant-id.js';
import { KmsConfigurationError } from '../errors/kms-configuration.error.js';
import { TenantMismatchError } from '../errors/tenant-mismatch.error.js';
import { BlindIndexKey } from './blind-index-key.js';
import { EncryptedColumns } from './encrypted-columns.js';
import type { ColumnPlan, EntityPlan } from './entity-plan.js';

/** Which tenant's index a lookup of a tenant column computes. */
export interface BlindIndexLookup {
  /** The tenant whose rows are searched (a column with `tenant` only). */
  tenant?: string;
}

/** findByBlindIndex's options: TypeORM's find options, and the tenant of a tenant column. */
export type BlindIndexFindOptions<Entity extends ObjectLiteral> = Omit<
  FindManyOptions<Entity>,
  'where'
> & { where?: FindOptionsWhere<Entity> } & BlindIndexLookup;

/**
 * A condition on the blind index of `property` matching `value` (normalised as the column says):
 * `repo.find({ where: { emailBlindIndex: blindIndexOf(repo, 'email', value) } })`. Matches
 * indexes made under the master key in use and, while it is held, the previous one. A column
 * keyed per tenant needs `{ tenant }`, and then answers a Promise (the tenant's keys may have to
 * be loaded); a tenant without keys (never written, or destroyed) matches nothing. An index cell
 * is not bound to its row: put the tenant in the same query's `where` too (findByBlindIndex
 * checks the rows it finds instead).
 */
export function blindIndexOf<Entity extends ObjectLiteral>(
  repository: Repository<Entity>,
  property: keyof Entity & string,
  value: unknown,
): FindOperator<string>;
/** The condition on a tenant column's blind index for one tenant (its keys loaded if need be). */
export function blindIndexOf<Entity extends ObjectLiteral>(
  repository: Repository<Entity>,
  property: keyof Entity & string,
  value: unknown,
  lookup: BlindIndexLookup & { tenant: string },
): Promise<FindOperator<string>>;
export function blindIndexOf<Entity extends ObjectLiteral>(
  repository: Repository<Entity>,
  property: keyof Entity & string,
  value: unknown,
  lookup?: BlindIndexLookup,
): FindOperator<string> | Promise<FindOperator<string>> {
  const { plan, column } = blindIndexed(repository, property);
  if (lookup?.tenant === undefined) {
    if (column.spec.tenant) {
      throw new KmsConfigurationError(
        `${column.field} is indexed per tenant: look it up with { tenant }, or name the tenant in where`,
      );
    }
    return In(column.blindIndexKeys.map((key) => plan.blindIndex(column, value, key)));
  }
  return tenantIndexOf(repository, plan, column, value, lookup.tenant);
}

/**
 * The rows whose `property` equals `value` (as normalised for its blind index). For a column
 * keyed per tenant, the tenant is `options.tenant`, or what the column's tenant function reads
 * from `options.where` (`{ where: { tenantId } }`).
 */
export async function findByBlindIndex<Entity extends ObjectLiteral>(
  repository: Repository<Entity>,
  property: keyof Entity & string,
  value: unknown,
  options: BlindIndexFindOptions<Entity> = {},
): Promise<Entity[]> {
  const { plan, column } = blindIndexed(repository, property);
  const { tenant: given, ...find } = options;
  const tenant = given ?? tenantInWhere(column, options.where);
  const index =
    tenant === undefined
      ? blindIndexOf(repository, property, value)
      : await blindIndexOf(repository, property, value, { tenant });
  const where = { ...find.where, [column.blindIndex!.property]: index } as FindOptionsWhere<Entity>;
  const rows = await repository.find({ ...find, where });
  // An index cell is not bound to its row: a row of another tenant carrying this tenant's index
  // (copied there by someone with write access to the table) is refused, never answered.
  if (tenant !== undefined && rows.some((row) => plan.tenantOf(column, row) !== tenant)) {
    throw new TenantMismatchError(true);
  }
  return rows;
}

/** The row whose `property` equals `value`, or null (`tenant`: as for findByBlindIndex). */
export async function findOneByBlindIndex<Entity extends ObjectLiteral>(
  repository: Repository<Entity>,
  property: keyof Entity & string,
  value: unknown,
  options: Pick<BlindIndexFindOptions<Entity>, 'tenant' | 'where'> = {},
): Promise<Entity | null> {
  const [found] = await findByBlindIndex(repository, property, value, { ...options, take: 1 });
  return found ?? null;
}

async function tenantIndexOf(
  repository: Repository<ObjectLiteral>,
  plan: EntityPlan,
  column: ColumnPlan,
  value: unknown,
  tenant: string,
): Promise<FindOperator<string>> {
  checkTenant(tenant);
  if (!column.spec.tenant) {
    throw new KmsConfigurationError(
      `${column.field} is not indexed per tenant: look it up without a tenant`,
    );
  }
  const codec = EncryptedColumns.of(repository.manager.dataSource)!.codec;
  const keys = await codec.tenantKeys(tenant, false);
  // No keys: nothing of the tenant was ever indexed, or its keys (and its index key) are gone.
  if (keys.keys.size === 0) return In([]);
  return In([plan.blindIndex(column, value, BlindIndexKey.ofTenant(keys, column.binding))]);
}

/** The tenant the column's tenant function reads from a plain `where` (not an operator). */
function tenantInWhere(column: ColumnPlan, where: unknown): string | undefined {
  if (!column.spec.tenant || where === null || typeof where !== 'object' || Array.isArray(where)) {
    return undefined;
  }
  try {
    const tenant = column.spec.tenant(where as Record<string, unknown>);
    return typeof tenant === 'string' ? tenant : undefined;
  } catch {
    return undefined;
  }
}

function blindIndexed(
  repository: Repository<ObjectLiteral>,
  property: string,
): { plan: EntityPlan; column: ColumnPlan } {
  const plan = encryptedPlanOf(repository);
  const column = plan.columns.find((candidate) => candidate.property === property);
  if (!column?.blindIndex) {
    throw new KmsConfigurationError(
      `${plan.name}.${property} has no blind index (@EncryptedColumn({ blindIndex: true }))`,
    );
  }
  return { plan, column };
}

/** The plan of a repository's entity, from the KMS attached to its DataSource. */
export function encryptedPlanOf(repository: Repository<ObjectLiteral>): EntityPlan {
  const columns = EncryptedColumns.of(repository.manager.dataSource);
  const plan = columns?.planOf(repository.metadata.target);
  if (!plan) {
    throw new KmsConfigurationError(
      `${repository.metadata.name} has no encrypted columns served by an initialised KMS on its DataSource`,
    );
  }
  return plan;
}
