import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';

/** Creates the secrets, versions and audit tables (TypeORM's Table API: one migration for Postgres and SQLite). */
export class CreateSecrets1764374400000 implements MigrationInterface {
  name = 'CreateSecrets1764374400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const epoch = (name: string, isNullable = false) => ({ name, type: 'bigint', isNullable });
    await queryRunner.createTable(
      new Table({
        name: 'kms_secrets',
        columns: [
          { name: 'name', type: 'varchar', length: '128', isPrimary: true },
          { name: 'current_version', type: 'integer' },
          { name: 'current_envelope', type: 'text' },
          { name: 'current_key_id', type: 'varchar', length: '64' },
          { name: 'rotation_policy', type: 'varchar', length: '8' },
          { name: 'ttl_days', type: 'integer', isNullable: true },
          { name: 'tags', type: 'text' },
          { name: 'description', type: 'varchar', length: '1024', isNullable: true },
          epoch('created_at'),
          epoch('updated_at'),
          epoch('expires_at', true),
          epoch('deleted_at', true),
          epoch('recoverable_until', true),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'kms_secret_versions',
        columns: [
          { name: 'secret_name', type: 'varchar', length: '128', isPrimary: true },
          { name: 'version', type: 'integer', isPrimary: true },
          { name: 'envelope', type: 'text' },
          { name: 'key_id', type: 'varchar', length: '64' },
          epoch('created_at'),
          epoch('expires_at', true),
        ],
        indices: [{ name: 'IDX_kms_secret_versions_key_id', columnNames: ['key_id'] }],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'kms_secret_audit',
        columns: [
          {
            name: 'id',
            type: 'integer',
            isPrimary: true,
            isGenerated: true,
            generationStrategy: 'increment',
          },
          epoch('at'),
          { name: 'action', type: 'varchar', length: '16' },
          { name: 'secret_name', type: 'varchar', length: '128', isNullable: true },
          { name: 'version', type: 'integer', isNullable: true },
          { name: 'actor', type: 'varchar', length: '128', isNullable: true },
          { name: 'outcome', type: 'varchar', length: '8' },
          { name: 'error_code', type: 'varchar', length: '64', isNullable: true },
        ],
        indices: [{ name: 'IDX_kms_secret_audit_name_at', columnNames: ['secret_name', 'at'] }],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('kms_secret_audit');
    await queryRunner.dropTable('kms_secret_versions');
    await queryRunner.dropTable('kms_secrets');
  }
}
