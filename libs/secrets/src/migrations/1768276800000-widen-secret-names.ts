import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A tenant's secret is stored under `~<tenant>/<name>` (secret-scope.ts): up to 1 + 64 + 1 + 128
 * = 194 characters, so every column holding a secret's name widens from 128 to 194. On Postgres
 * a wider varchar changes no stored row and no index (the types are binary-coercible), and the
 * primary keys stay what they are, so logical replication to a second region goes on as before;
 * the subscriber's database must run this migration before a tenant's long name reaches it (each
 * region runs the shipped migrations at start). SQLite does not enforce a varchar's length, but
 * its declared type is the schema: the three tables are rebuilt with the wider type (a copy of
 * each, once). The audit trail keeps 128 characters: it stores names cut to that with a marker
 * (audit-text.ts), so its table, the one that grows with every read, is not copied.
 */
export class WidenSecretNames1768276800000 implements MigrationInterface {
  name = 'WidenSecretNames1768276800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await this.setLength(queryRunner, 194);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await this.setLength(queryRunner, 128);
  }

  private async setLength(queryRunner: QueryRunner, length: number): Promise<void> {
    for (const [tableName, columnName] of NAME_COLUMNS) {
      if (queryRunner.connection.options.type === 'postgres') {
        await queryRunner.query(
          `ALTER TABLE "${tableName}" ALTER COLUMN "${columnName}" TYPE varchar(${length})`,
        );
        continue;
      }
      const table = await queryRunner.getTable(tableName);
      const column = table?.findColumnByName(columnName);
      if (table === undefined || column === undefined) continue;
      const widened = column.clone();
      widened.length = String(length);
      await queryRunner.changeColumn(table, column, widened);
    }
  }
}

const NAME_COLUMNS = [
  ['kms_secrets', 'name'],
  ['kms_secret_versions', 'secret_name'],
  ['kms_secret_tags', 'secret_name'],
] as const;
