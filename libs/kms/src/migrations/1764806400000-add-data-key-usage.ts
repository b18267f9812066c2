import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Counts encryptions per data key: with random 96-bit IVs a key must not seal more than 2^32
 * messages (NIST SP 800-38D), so the keyring rotates before a configured limit.
 */
export class AddDataKeyUsage1764806400000 implements MigrationInterface {
  name = 'AddDataKeyUsage1764806400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn(
      'kms_data_keys',
      new TableColumn({ name: 'encryptions', type: 'bigint', default: 0 }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('kms_data_keys', 'encryptions');
  }
}
