import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Records which stores no longer accept envelopes in format v1 (written before envelopes
 * carried their purpose): re-encryption sets it once it has moved every stored one to v2.
 */
export class AddLegacyRefusedPurposes1765152000000 implements MigrationInterface {
  name = 'AddLegacyRefusedPurposes1765152000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn(
      'kms_keyring',
      new TableColumn({
        name: 'legacy_refused_purposes',
        type: 'varchar',
        length: '64',
        default: "''",
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('kms_keyring', 'legacy_refused_purposes');
  }
}
