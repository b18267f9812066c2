import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Data keys wrapped under additional master keys (a second region's KMS key, an offline
 * break-glass key), so that any one of them can open the keyring.
 */
export class CreateMasterKeyWraps1767916800000 implements MigrationInterface {
  name = 'CreateMasterKeyWraps1767916800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'kms_master_key_wraps',
        columns: [
          { name: 'key_id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'master_key_fingerprint', type: 'varchar', length: '128', isPrimary: true },
          { name: 'wrapped_key', type: 'text' },
          { name: 'created_at', type: 'bigint' },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('kms_master_key_wraps');
  }
}
