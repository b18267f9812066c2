import { nameInScope, UNTENANTED } from './secret-scope.js';
import type { SecretVersionEntity } from './entities/secret-version.entity.js';
import type { SecretEntity } from './entities/secret.entity.js';
import type {
  SecretMetadata,
  SecretVersionMetadata,
} from './interfaces/secret-operations.interface.js';

/**
 * The AAD of a secret version's envelope: an envelope copied onto another secret's row, onto
 * another version or to another tenant, no longer decrypts there. Untenanted values keep the
 * binding they were sealed with (no `tenant` member).
 */
export const secretBinding = (
  name: string,
  version: number,
  tenant?: string,
): Record<string, string> =>
  tenant === undefined
    ? { secret: name, version: String(version) }
    : { secret: name, version: String(version), tenant };

/** A stored epoch-milliseconds column as a Date; null stays null. */
export const dateOf = (epochMs: number | null): Date | null =>
  epochMs === null ? null : new Date(epochMs);

/** The columns of a secret's row that its metadata shows (a listing selects only these). */
export type SecretMetadataRow = Pick<
  SecretEntity,
  | 'name'
  | 'currentVersion'
  | 'createdAt'
  | 'updatedAt'
  | 'expiresAt'
  | 'currentKeyId'
  | 'tags'
  | 'rotationPolicy'
  | 'description'
>;

/** A row's metadata, named as the caller of `scope` names it. */
export function toMetadata(row: SecretMetadataRow, scope = UNTENANTED): SecretMetadata {
  return {
    name: nameInScope(scope, row.name),
    currentVersion: row.currentVersion,
    createdAt: new Date(row.createdAt),
    updatedAt: new Date(row.updatedAt),
    expiresAt: dateOf(row.expiresAt),
    keyId: row.currentKeyId,
    tags: JSON.parse(row.tags) as Record<string, string>,
    rotationPolicy: row.rotationPolicy,
    description: row.description,
  };
}

export function toVersionMetadata(
  row: SecretVersionEntity,
  currentVersion: number,
): SecretVersionMetadata {
  return {
    version: row.version,
    stage:
      row.version === currentVersion
        ? 'current'
        : row.version === currentVersion - 1
          ? 'previous'
          : 'inactive',
    createdAt: new Date(row.createdAt),
    expiresAt: dateOf(row.expiresAt),
    keyId: row.keyId,
  };
}
