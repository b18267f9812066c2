import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Tenants' data keys live beside the keyring's own, tagged with the tenant's keyed tag: one
 * active key for the keyring's own (tenant null) and one per tenant, each held by a partial
 * unique index, so replicas that make a tenant's first key at once end with one.
 */
export class AddTenantDataKeys1768190400000 implements MigrationInterface {
  name = 'AddTenantDataKeys1768190400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE kms_data_keys ADD COLUMN tenant varchar(32)');
    await queryRunner.query('DROP INDEX "UQ_kms_data_keys_one_active"');
    await queryRunner.query(
      `CREATE UNIQUE INDEX "UQ_kms_data_keys_one_active" ON kms_data_keys (status) WHERE status = 'active' AND tenant IS NULL`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "UQ_kms_data_keys_one_active_per_tenant" ON kms_data_keys (tenant) WHERE status = 'active' AND tenant IS NOT NULL`,
    );
    await queryRunner.query('CREATE INDEX "IDX_kms_data_keys_tenant" ON kms_data_keys (tenant)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DELETE FROM kms_data_keys WHERE tenant IS NOT NULL');
    await queryRunner.query('DROP INDEX "IDX_kms_data_keys_tenant"');
    await queryRunner.query('DROP INDEX "UQ_kms_data_keys_one_active_per_tenant"');
    await queryRunner.query('DROP INDEX "UQ_kms_data_keys_one_active"');
    await queryRunner.query(
      `CREATE UNIQUE INDEX "UQ_kms_data_keys_one_active" ON kms_data_keys (status) WHERE status = 'active'`,
    );
    await queryRunner.query('ALTER TABLE kms_data_keys DROP COLUMN tenant');
  }
}
