import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * The keyring's own root for blind-index keys, wrapped under the master key like a data key:
 * blind indexes then work under a master key that never reveals its bytes (AWS KMS, an HSM) and
 * survive a move between master keys. Null until the first start of this version creates it.
 */
export class AddIndexRootKey1767830400000 implements MigrationInterface {
  name = 'AddIndexRootKey1767830400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn(
      'kms_keyring',
      new TableColumn({ name: 'index_root_key', type: 'text', isNullable: true }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('kms_keyring', 'index_root_key');
  }
}
