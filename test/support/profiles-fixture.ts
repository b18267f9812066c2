import { Module, type INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { TypeOrmModule, getDataSourceToken } from '@nestjs/typeorm';
import {
  Column,
  Entity,
  ManyToOne,
  PrimaryColumn,
  PrimaryGeneratedColumn,
  type DataSource,
} from 'typeorm';
import {
  EncryptedColumn,
  KMS_ENTITIES,
  KmsModule,
  KmsService,
  type KmsModuleOptions,
  type MasterKeyProvider,
} from '@nest-kms/kms';
import { CapturedLogger } from './captured-logger.js';
import type { TestDatabase } from './databases.js';
import { SqlRecorder } from './sql-recorder.js';

/** The README's example: user AAD, a JSON column and a unique blind index. */
@Entity({ name: 'test_user_profiles' })
export class UserProfile {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'varchar', length: 64 })
  userId: string;

  @EncryptedColumn<UserProfile>({
    type: 'string',
    aad: (row) => ({ userId: row.userId }),
    nullable: true,
  })
  ssn: string | null;

  @EncryptedColumn({ type: 'json', nullable: true })
  bankAccount: { iban: string; bic: string } | null;

  @EncryptedColumn({ type: 'string', blindIndex: { unique: true }, nullable: true })
  email: string | null;

  /** The blind index companion column @EncryptedColumn adds. */
  emailBlindIndex?: string | null;
}

/** Another entity with a column of the same name, to copy ciphertext across entities. */
@Entity({ name: 'test_employee_profiles' })
export class EmployeeProfile {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  id: string;

  @Column({ type: 'varchar', length: 64 })
  userId: string;

  @EncryptedColumn({ type: 'string', nullable: true })
  ssn: string | null;
}

/** One nullable encrypted column per supported type. */
@Entity({ name: 'test_typed_values' })
export class TypedValues {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @EncryptedColumn({ type: 'string', nullable: true }) text: string | null;
  @EncryptedColumn({ type: 'buffer', nullable: true }) bytes: Buffer | null;
  @EncryptedColumn({ type: 'number', nullable: true }) amount: number | null;
  @EncryptedColumn({ type: 'boolean', nullable: true }) flag: boolean | null;
  @EncryptedColumn({ type: 'date', nullable: true }) at: Date | null;
  @EncryptedColumn({ type: 'json', nullable: true }) data: unknown;
}

/** A table being migrated from plaintext: reads accept legacy values while the option is on. */
@Entity({ name: 'test_legacy_customers' })
export class LegacyCustomer {
  @PrimaryColumn({ type: 'integer' })
  id: number;

  @Column({ type: 'varchar', length: 64 })
  name: string;

  @EncryptedColumn({ type: 'string', allowPlaintext: true, blindIndex: true, nullable: true })
  taxId: string | null;
}

/** A base class declaring an encrypted column, for entities that inherit it. */
export abstract class Annotated {
  @EncryptedColumn({ type: 'string', nullable: true })
  remark: string | null;
}

/** Loaded with its profile through a relation: both sides' values are opened. */
@Entity({ name: 'test_profile_documents' })
export class ProfileDocument extends Annotated {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @ManyToOne(() => UserProfile, { nullable: false })
  profile: UserProfile;

  @EncryptedColumn({ type: 'string' })
  content: string;
}

export const PROFILE_ENTITIES = [
  UserProfile,
  EmployeeProfile,
  TypedValues,
  LegacyCustomer,
  ProfileDocument,
];

export interface ProfilesApp {
  readonly app: INestApplicationContext;
  readonly kms: KmsService;
  readonly logger: CapturedLogger;
  readonly dataSource: DataSource;
  close(): Promise<void>;
}

/**
 * An application as the README wires it: its own TypeORM DataSource (schema synchronised, as
 * tests may) holding its entities and the KMS's, KmsModule on that DataSource, every SQL
 * statement recorded by `sql`.
 */
export async function startProfilesApp(
  db: TestDatabase,
  masterKey: string | MasterKeyProvider,
  sql: SqlRecorder,
  kms: Partial<KmsModuleOptions> = {},
  entities: readonly Function[] = PROFILE_ENTITIES,
): Promise<ProfilesApp> {
  @Module({
    imports: [
      TypeOrmModule.forRoot({
        ...sql.attach(db.connection),
        entities: [...KMS_ENTITIES, ...entities],
        synchronize: true,
      } as Parameters<typeof TypeOrmModule.forRoot>[0]),
      KmsModule.forRoot({ masterKey, dataSource: 'default', ...kms }),
    ],
  })
  class ProfilesModule {}
  const logger = new CapturedLogger();
  const moduleRef = await Test.createTestingModule({ imports: [ProfilesModule] })
    .setLogger(logger)
    .compile();
  const app = await moduleRef.init();
  return {
    app,
    kms: app.get(KmsService),
    logger,
    dataSource: app.get<DataSource>(getDataSourceToken()),
    close: () => app.close(),
  };
}
