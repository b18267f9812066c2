import type { MigrationInterface } from 'typeorm';
import { KmsDataKeyEntity } from '../entities/kms-data-key.entity.js';
import { KmsKeyringEntity } from '../entities/kms-keyring.entity.js';
import { KmsMasterKeyWrapEntity } from '../entities/kms-master-key-wrap.entity.js';
import { CreateKmsKeyring1764288000000 } from '../migrations/1764288000000-create-kms-keyring.js';
import { AddDataKeyUsage1764806400000 } from '../migrations/1764806400000-add-data-key-usage.js';
import { AddIndexRootKey1767830400000 } from '../migrations/1767830400000-add-index-root-key.js';
import { NotifyReplicatedKeyChanges1768003200000 } from '../migrations/1768003200000-notify-replicated-key-changes.js';
import { CreateMasterKeyWraps1767916800000 } from '../migrations/1767916800000-create-master-key-wraps.js';
import { AddLegacyRefusedPurposes1765152000000 } from '../migrations/1765152000000-add-legacy-refused-purposes.js';
import { AddTenantDataKeys1768190400000 } from '../migrations/1768190400000-add-tenant-data-keys.js';

/** Entities to add to an application's DataSource when KmsModule uses it (`dataSource` option). */
export const KMS_ENTITIES: [
  typeof KmsKeyringEntity,
  typeof KmsDataKeyEntity,
  typeof KmsMasterKeyWrapEntity,
] = [KmsKeyringEntity, KmsDataKeyEntity, KmsMasterKeyWrapEntity];
/**
 * Migrations creating the KMS tables, in order; run them with the application's own migrations.
 * Typed as migration classes, not by name, so a release adding one does not change the API.
 */
export const KMS_MIGRATIONS: (new () => MigrationInterface)[] = [
  CreateKmsKeyring1764288000000,
  AddDataKeyUsage1764806400000,
  AddLegacyRefusedPurposes1765152000000,
  AddIndexRootKey1767830400000,
  CreateMasterKeyWraps1767916800000,
  NotifyReplicatedKeyChanges1768003200000,
  AddTenantDataKeys1768190400000,
];
