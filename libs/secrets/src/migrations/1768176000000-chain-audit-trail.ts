import { TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Makes the audit trail tamper-evident: each record gets a place in a hash chain (sealed after
 * it is written, by whichever replica holds the chain's head row), and the KMS's security
 * events get a key column. Columns are added in place (nullable, no default) on both engines,
 * as the record id was: the audit table is the one that grows with every read. Records written
 * before are sealed by the first runs, oldest first.
 */
export class ChainAuditTrail1768176000000 implements MigrationInterface {
  name = 'ChainAuditTrail1768176000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE "kms_secret_audit" ADD COLUMN "key_id" varchar(64)');
    await queryRunner.query('ALTER TABLE "kms_secret_audit" ADD COLUMN "chain_seq" bigint');
    await queryRunner.query('ALTER TABLE "kms_secret_audit" ADD COLUMN "chain_mac" varchar(64)');
    // The runner caches table definitions; reload this one so the indexes go on the real table.
    await queryRunner.getTable('kms_secret_audit');
    await queryRunner.createIndex(
      'kms_secret_audit',
      new TableIndex({
        name: 'UQ_kms_secret_audit_chain_seq',
        columnNames: ['chain_seq'],
        isUnique: true,
      }),
    );
    await queryRunner.createIndex(
      'kms_secret_audit',
      new TableIndex({
        name: 'IDX_kms_secret_audit_unsealed',
        columnNames: ['id'],
        where: 'chain_seq IS NULL',
      }),
    );
    await queryRunner.query(
      'CREATE TABLE "kms_audit_chain" ("name" varchar(32) PRIMARY KEY NOT NULL, "seq" bigint NOT NULL, "mac" varchar(64) NOT NULL, "sealed_at" bigint NOT NULL)',
    );
    await queryRunner.query(
      `INSERT INTO "kms_audit_chain" ("name", "seq", "mac", "sealed_at") VALUES ('secret-audit', 0, '', 0)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE "kms_audit_chain"');
    await queryRunner.dropIndex('kms_secret_audit', 'IDX_kms_secret_audit_unsealed');
    await queryRunner.dropIndex('kms_secret_audit', 'UQ_kms_secret_audit_chain_seq');
    await queryRunner.dropColumn('kms_secret_audit', 'chain_mac');
    await queryRunner.dropColumn('kms_secret_audit', 'chain_seq');
    await queryRunner.dropColumn('kms_secret_audit', 'key_id');
  }
}
