import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * The lifecycle job's claims on kms_secrets: which expired secrets were reported (so one
 * replica logs each once) and which secret a replica is rotating (a lease, so one rotates it).
 */
export class AddSecretLifecycle1765584000000 implements MigrationInterface {
  name = 'AddSecretLifecycle1765584000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumns('kms_secrets', [
      new TableColumn({ name: 'expiry_reported_at', type: 'bigint', isNullable: true }),
      new TableColumn({ name: 'rotation_claimed_until', type: 'bigint', isNullable: true }),
    ]);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumns('kms_secrets', ['expiry_reported_at', 'rotation_claimed_until']);
  }
}
