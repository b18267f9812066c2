import { TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * A unique id per audit record, given when the record is made: a buffered batch whose write
 * timed out but committed after all is written again by the retry, and the conflict on this
 * column makes that second write add nothing. Rows from before stay NULL (a unique index
 * allows many NULLs on both engines).
 */
export class AddAuditRecordId1767744000000 implements MigrationInterface {
  name = 'AddAuditRecordId1767744000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // Not queryRunner.addColumn: on SQLite it copies the whole table, and the audit table is
    // the one that grows with every read. A nullable column without a default is added in
    // place on both engines.
    await queryRunner.query('ALTER TABLE "kms_secret_audit" ADD COLUMN "record_id" varchar(36)');
    // The runner caches table definitions; reload this one so the index is added to the real table.
    await queryRunner.getTable('kms_secret_audit');
    await queryRunner.createIndex(
      'kms_secret_audit',
      new TableIndex({
        name: 'UQ_kms_secret_audit_record_id',
        columnNames: ['record_id'],
        isUnique: true,
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('kms_secret_audit', 'UQ_kms_secret_audit_record_id');
    await queryRunner.dropColumn('kms_secret_audit', 'record_id');
  }
}
