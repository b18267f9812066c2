import { KmsDataKeyEntity } from './entities/kms-data-key.entity.js';
import { KmsKeyringEntity } from './entities/kms-keyring.entity.js';
import { CreateKmsKeyring1764288000000 } from './migrations/1764288000000-create-kms-keyring.js';
import { AddDataKeyUsage1764806400000 } from './migrations/1764806400000-add-data-key-usage.js';
import { AddLegacyRefusedPurposes1765152000000 } from './migrations/1765152000000-add-legacy-refused-purposes.js';

/** Entities to add to an application's DataSource when KmsModule uses it (`dataSource` option). */
export const KMS_ENTITIES = [KmsKeyringEntity, KmsDataKeyEntity];
/** Migrations creating the KMS tables, in order; run them with the application's own migrations. */
export const KMS_MIGRATIONS = [
  CreateKmsKeyring1764288000000,
  AddDataKeyUsage1764806400000,
  AddLegacyRefusedPurposes1765152000000,
];

/** Injection token of the resolved (defaults merged) module options. */
export const KMS_RESOLVED_OPTIONS = Symbol('nest-kms:resolved-options');
/** Id of the keyring row: one keyring per database. */
export const KEYRING_ID = 'default';
/** Postgres advisory lock (two-int form) held while the shipped migrations run: 'nkms', 1. */
export const MIGRATION_ADVISORY_LOCK: [number, number] = [0x6e6b6d73, 1];
/** Postgres advisory lock held by the one replica running the re-encryption job: 'nkms', 2. */
export const REENCRYPTION_ADVISORY_LOCK: [number, number] = [0x6e6b6d73, 2];
/** The LISTEN/NOTIFY channel replicas tell each other about rotations and secret changes on. */
export const NOTIFY_CHANNEL = 'nest_kms';
/**
 * Injection token of the SchedulerRegistry nest-kms registers its lifecycle jobs in: the app's
 * (ScheduleModule.forRoot()) when it has one, else a private one.
 */
export const KMS_SCHEDULER_REGISTRY = Symbol('nest-kms:scheduler-registry');
