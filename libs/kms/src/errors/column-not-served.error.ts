import { KmsConfigurationError } from './kms-configuration.error.js';

/**
 * The DataSource an initialised KMS uses: one it opened from `connection`, or the application's
 * given as `dataSource` (its name; undefined when given as an instance).
 */
export type KmsDataSourceUse =
  { readonly connection: true } | { readonly connection: false; readonly name: string | undefined };

/**
 * An entity with encrypted columns was written through a DataSource that no initialised KMS
 * serves, so nothing could seal its values: typically the application's own DataSource while
 * KmsModule opened another from `connection`. Refused before anything reaches the database.
 * A KmsConfigurationError: the fix is in how KmsModule is wired.
 */
export class ColumnNotServedError extends KmsConfigurationError {
  override readonly code = 'KMS_COLUMN_NOT_SERVED';
  constructor(
    readonly entity: string,
    readonly column: string,
    /** The DataSource of each KMS initialised in this process; empty when none has started. */
    kmsDataSources: readonly KmsDataSourceUse[],
  ) {
    super(
      `${entity}.${column} is an encrypted column, but no initialised KMS serves the DataSource it is written through: ${remedy(entity, kmsDataSources)}`,
    );
  }
}

function remedy(entity: string, uses: readonly KmsDataSourceUse[]): string {
  const fix = (instead: string) =>
    `configure KmsModule with \`dataSource\`${instead}: list ${entity} and ...KMS_ENTITIES in the entities of your TypeORM DataSource (...KMS_MIGRATIONS in its migrations) and pass its name, e.g. KmsModule.forRoot({ dataSource: 'default' }) beside TypeOrmModule.forRoot(), or the DataSource itself`;
  if (uses.length === 0) {
    return `no KMS has initialised in this process. If KmsModule already uses that DataSource, let it start before the entity is written (await app.init(), or await kms.initialize() in an onModuleInit); otherwise ${fix('')}`;
  }
  if (uses.some((use) => use.connection)) {
    return `KmsModule was configured with \`connection\`, so the KMS opened a DataSource of its own that holds only nest-kms's tables, not ${entity}; ${fix(' instead of `connection`')}`;
  }
  const names = uses.map((use) =>
    !use.connection && use.name !== undefined ? `'${use.name}'` : 'given as an instance',
  );
  return `KmsModule is configured with \`dataSource\` (${names.join(', ')}), which does not include ${entity}: list ${entity} in the entities of that DataSource and write it through that DataSource`;
}
