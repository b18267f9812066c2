import { Table } from 'typeorm';
export class CreateKmsKeyring1764288000000 {
  name = 'CreateKmsKeyring1764288000000';
  async up(queryRunner) {
    await queryRunner.createTable(
      new Table({
        name: 'kms_keyring',
        columns: [
          { name: 'id', type: 'varchar', length: '32', isPrimary: true },
          { name: 'master_key_fingerprint', type: 'varchar', length: '128' },
          { name: 'created_at', type: 'bigint' },
          { name: 'updated_at', type: 'bigint' },
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'kms_data_keys',
        columns: [
          { name: 'id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'wrapped_key', type: 'text' },
          { name: 'status', type: 'varchar', length: '16' },
          { name: 'master_key_fingerprint', type: 'varchar', length: '128' },
          { name: 'created_at', type: 'bigint' },
          { name: 'retired_at', type: 'bigint', isNullable: true },
        ],
        indices: [
          {
            name: 'UQ_kms_data_keys_one_active',
            columnNames: ['status'],
            isUnique: true,
            where: "status = 'active'",
          },
        ],
      }),
    );
  }
  async down(queryRunner) {
    await queryRunner.dropTable('kms_data_keys');
    await queryRunner.dropTable('kms_keyring');
  }
}
//# sourceMappingURL=1764288000000-create-kms-keyring.js.map
