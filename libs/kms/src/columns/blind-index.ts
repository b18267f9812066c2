import {
  In,
  type FindManyOptions,
  type FindOperator,
  type FindOptionsWhere,
  type ObjectLiteral,
  type Repository,
} from 'typeorm';
import { KmsConfigurationError } from '../errors/kms-configuration.error.js';
import { EncryptedColumns } from './encrypted-columns.js';
import type { ColumnPlan, EntityPlan } from './entity-plan.js';

/**
 * A condition on the blind index of `property` matching `value` (normalised as the column says):
 * `repo.find({ where: { emailBlindIndex: blindIndexOf(repo, 'email', value) } })`. Matches
 * indexes made under the master key in use and, while it is held, the previous one.
 */
export function blindIndexOf<Entity extends ObjectLiteral>(
  repository: Repository<Entity>,
  property: keyof Entity & string,
  value: unknown,
): FindOperator<string> {
  const { plan, column } = blindIndexed(repository, property);
  return In(column.blindIndexKeys.map((key) => plan.blindIndex(column, value, key)));
}

/** The rows whose `property` equals `value` (as normalised for its blind index). */
export async function findByBlindIndex<Entity extends ObjectLiteral>(
  repository: Repository<Entity>,
  property: keyof Entity & string,
  value: unknown,
  options: Omit<FindManyOptions<Entity>, 'where'> & { where?: FindOptionsWhere<Entity> } = {},
): Promise<Entity[]> {
  const { column } = blindIndexed(repository, property);
  const where = {
    ...options.where,
    [column.blindIndex!.property]: blindIndexOf(repository, property, value),
  } as FindOptionsWhere<Entity>;
  return repository.find({ ...options, where });
}

/** The row whose `property` equals `value`, or null. */
export async function findOneByBlindIndex<Entity extends ObjectLiteral>(
  repository: Repository<Entity>,
  property: keyof Entity & string,
  value: unknown,
): Promise<Entity | null> {
  const [found] = await findByBlindIndex(repository, property, value, { take: 1 });
  return found ?? null;
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
