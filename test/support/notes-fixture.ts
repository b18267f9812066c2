import { Injectable, type INestApplicationContext } from '@nestjs/common';
import {
  Column,
  Entity,
  PrimaryColumn,
  Table,
  type DataSource,
  type MigrationInterface,
  type QueryRunner,
} from 'typeorm';
import { KmsModule, KmsService, type KmsModuleOptions } from '@nest-kms/kms';
import { KmsStorage } from '@nest-kms/kms/extension';
import type { CapturedLogger } from './captured-logger.js';
import type { TestDatabase } from './databases.js';
import { startTestApp } from './kms-fixture.js';

/** An application table with a column of compact envelopes and no key-id column. */
@Entity({ name: 'test_notes' })
export class NoteEntity {
  @PrimaryColumn({ type: 'varchar', length: 32 })
  id: string;

  @Column({ type: 'text', nullable: true })
  body: string | null;
}

export class CreateTestNotes1700000000000 implements MigrationInterface {
  name = 'CreateTestNotes1700000000000';
  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'test_notes',
        columns: [
          { name: 'id', type: 'varchar', length: '32', isPrimary: true },
          { name: 'body', type: 'text', isNullable: true },
        ],
      }),
    );
  }
  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('test_notes');
  }
}

@Injectable()
export class NotesRegistration {
  constructor(storage: KmsStorage) {
    storage.register({
      name: 'test-notes',
      entities: [NoteEntity],
      migrations: [CreateTestNotes1700000000000],
      envelopeColumns: [{ entity: NoteEntity, envelope: 'body' }],
    });
  }
}

export interface NotesApp {
  readonly app: INestApplicationContext;
  readonly kms: KmsService;
  readonly logger: CapturedLogger;
  readonly dataSource: DataSource;
  close(): Promise<void>;
}

/** KmsModule plus the notes table (registered as an envelope column) on `db`. */
export async function startNotesApp(
  db: TestDatabase,
  masterKey: string,
  extra: Partial<KmsModuleOptions> = {},
): Promise<NotesApp> {
  const { app, logger } = await startTestApp({
    imports: [KmsModule.forRoot({ masterKey, connection: db.connection, ...extra })],
    providers: [NotesRegistration],
  });
  return {
    app,
    kms: app.get(KmsService),
    logger,
    dataSource: await app.get(KmsStorage).dataSource(),
    close: () => app.close(),
  };
}
