import type { MigrationInterface } from 'typeorm';
import { AuditChainEntity } from './entities/audit-chain.entity.js';
import { SecretAuditEntity } from './entities/secret-audit.entity.js';
import { SecretTagEntity } from './entities/secret-tag.entity.js';
import { SecretVersionEntity } from './entities/secret-version.entity.js';
import { SecretEntity } from './entities/secret.entity.js';
import { CreateSecrets1764374400000 } from './migrations/1764374400000-create-secrets.js';
import { AddSecretLifecycle1765584000000 } from './migrations/1765584000000-add-secret-lifecycle.js';
import { AddAuditRecordId1767744000000 } from './migrations/1767744000000-add-audit-record-id.js';
import { NotifyReplicatedSecretChanges1768003200001 } from './migrations/1768003200001-notify-replicated-secret-changes.js';
import { AddSecretTags1768089600000 } from './migrations/1768089600000-add-secret-tags.js';
import { ChainAuditTrail1768176000000 } from './migrations/1768176000000-chain-audit-trail.js';
import { WidenSecretNames1768276800000 } from './migrations/1768276800000-widen-secret-names.js';

/** Entities to add to an application DataSource that KmsModule uses (`dataSource` option). */
export const SECRETS_ENTITIES: [
  typeof SecretEntity,
  typeof SecretVersionEntity,
  typeof SecretAuditEntity,
  typeof SecretTagEntity,
  typeof AuditChainEntity,
] = [SecretEntity, SecretVersionEntity, SecretAuditEntity, SecretTagEntity, AuditChainEntity];
/** Migrations of the secrets tables; run them after KMS_MIGRATIONS (typed as KMS_MIGRATIONS is). */
export const SECRETS_MIGRATIONS: (new () => MigrationInterface)[] = [
  CreateSecrets1764374400000,
  AddSecretLifecycle1765584000000,
  AddAuditRecordId1767744000000,
  NotifyReplicatedSecretChanges1768003200001,
  AddSecretTags1768089600000,
  ChainAuditTrail1768176000000,
  WidenSecretNames1768276800000,
];

/** Injection token of the resolved (defaults merged) options. */
export const SECRETS_RESOLVED_OPTIONS = Symbol('nest-kms:secrets-resolved-options');
/** One day of the options' clock, in milliseconds: what the `*Days` options count. */
export const DAY_MS = 86_400_000;

/**
 * The columns of envelopes re-encryption moves to the active key (each with its key-id column),
 * sealed for the secrets store. A secret's current envelope is its current version's, so it is
 * copied from the moved version row rather than rewrapped again: the two stay equal, as
 * setSecret writes them and a backup's restore compares them.
 */
export const SECRETS_ENVELOPE_COLUMNS = [
  { entity: SecretVersionEntity, envelope: 'envelope', keyId: 'keyId', purpose: 'secret' },
  {
    entity: SecretEntity,
    envelope: 'currentEnvelope',
    keyId: 'currentKeyId',
    purpose: 'secret',
    copyOf: {
      entity: SecretVersionEntity,
      envelope: 'envelope',
      join: { name: 'secretName', currentVersion: 'version' },
    },
  },
] as const;
