import { DataSource } from 'typeorm';
import { KMS_ENTITIES, KMS_MIGRATIONS } from '@nest-kms/kms';
import type { TestDatabase } from './databases.js';

/** A DataSource on the test database with the KMS tables, for reading and tampering with rows directly. */
export async function openKmsTables(db: TestDatabase): Promise<DataSource> {
  const dataSource = new DataSource({
    ...db.connection,
    entities: KMS_ENTITIES,
    migrations: KMS_MIGRATIONS,
    migrationsRun: true,
  } as ConstructorParameters<typeof DataSource>[0]);
  return dataSource.initialize();
}

/** Every row of the KMS tables, ordered: a snapshot to prove nothing was written. */
export async function snapshotKmsTables(dataSource: DataSource): Promise<unknown[]> {
  return [
    await dataSource.query('SELECT * FROM kms_keyring ORDER BY id'),
    await dataSource.query('SELECT * FROM kms_data_keys ORDER BY id'),
    await dataSource.query(
      'SELECT * FROM kms_master_key_wraps ORDER BY key_id, master_key_fingerprint',
    ),
  ];
}

/** Runs SQL written with `?` placeholders on either engine; `Row` is what the caller selected. */
export function sqlQuery<Row = Record<string, unknown>>(
  dataSource: DataSource,
  sql: string,
  parameters: unknown[] = [],
): Promise<Row[]> {
  let at = 0;
  const text = dataSource.options.type === 'postgres' ? sql.replace(/\?/g, () => `$${++at}`) : sql;
  return dataSource.query(text, parameters);
}
