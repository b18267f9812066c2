import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';

/** The notes table, for Postgres and SQLite alike (TypeORM's Table API). */
export class CreateDemoNotes1767225600000 implements MigrationInterface {
  name = 'CreateDemoNotes1767225600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // What TypeORM maps a uuid primary key to: Postgres has the type, SQLite stores text.
    const uuid = queryRunner.connection.driver.options.type === 'postgres' ? 'uuid' : 'varchar';
    await queryRunner.createTable(
      new Table({
        name: 'demo_notes',
        columns: [
          {
            name: 'id',
            type: uuid,
            isPrimary: true,
            isGenerated: true,
            generationStrategy: 'uuid',
          },
          { name: 'owner_id', type: 'varchar', length: '64' },
          // One `kms1.…` compact envelope.
          { name: 'body', type: 'text' },
          { name: 'created_at', type: 'bigint' },
        ],
        indices: [{ name: 'IDX_demo_notes_owner_id', columnNames: ['owner_id'] }],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('demo_notes');
  }
}
