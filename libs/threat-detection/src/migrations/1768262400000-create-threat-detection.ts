import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * The threat detector's tables: detections, the lease and saved state of the one detector that
 * reads the trail at a time, and blocked actors. Every table has a primary key, so a second
 * region can receive them by logical replication like the others.
 */
export class CreateThreatDetection1768262400000 implements MigrationInterface {
  name = 'CreateThreatDetection1768262400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'kms_threat_detections',
        columns: [
          { name: 'id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'rule', type: 'varchar', length: '64' },
          { name: 'severity', type: 'varchar', length: '8' },
          { name: 'actor', type: 'varchar', length: '128', isNullable: true },
          { name: 'subject', type: 'varchar', length: '200', isNullable: true },
          { name: 'first_at', type: 'bigint' },
          { name: 'detected_at', type: 'bigint' },
          { name: 'seq', type: 'bigint' },
          { name: 'counts', type: 'text' },
          { name: 'recorded_at', type: 'bigint' },
        ],
      }),
    );
    await queryRunner.createIndex(
      'kms_threat_detections',
      new TableIndex({
        name: 'IDX_kms_threat_detections_recorded_at',
        columnNames: ['recorded_at'],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'kms_threat_detector',
        columns: [
          { name: 'name', type: 'varchar', length: '32', isPrimary: true },
          { name: 'holder', type: 'varchar', length: '64', isNullable: true },
          { name: 'lease_until', type: 'bigint' },
          { name: 'snapshot', type: 'text', isNullable: true },
          { name: 'snapshot_seq', type: 'bigint' },
          { name: 'updated_at', type: 'bigint' },
        ],
      }),
    );
    await queryRunner.query(
      `INSERT INTO "kms_threat_detector" ("name", "holder", "lease_until", "snapshot", "snapshot_seq", "updated_at") VALUES ('default', NULL, 0, NULL, 0, 0)`,
    );
    await queryRunner.createTable(
      new Table({
        name: 'kms_threat_blocks',
        columns: [
          { name: 'actor', type: 'varchar', length: '128', isPrimary: true },
          { name: 'until', type: 'bigint' },
          { name: 'reason', type: 'varchar', length: '64' },
          { name: 'detection_id', type: 'varchar', length: '64', isNullable: true },
          { name: 'created_at', type: 'bigint' },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('kms_threat_blocks');
    await queryRunner.dropTable('kms_threat_detector');
    await queryRunner.dropTable('kms_threat_detections');
  }
}
