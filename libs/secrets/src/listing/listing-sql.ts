import type { RotationPolicy } from '../entities/secret.entity.js';
import type { SecretMetadata } from '../interfaces/secret-operations.interface.js';
import { TENANT_SCOPE_MARK, type SecretScope } from '../secret-scope.js';
import { toMetadata } from '../secret.mapping.js';

/** What a listing or a count selects: live secrets, by name prefix and tag, after a name. */
export interface ListingFilter {
  prefix?: string;
  /** `key` or `key=value`: a kms_secret_tags row. */
  tag?: string;
  /** Names strictly after this one (byte order). */
  after?: string;
  /**
   * Whose names: a tenant's (stored under `~<tenant>/`, where `prefix` and `after` apply), or
   * the untenanted ones, which stop below every tenant's.
   */
  scope: SecretScope;
}

export interface ListingStatement {
  sql: string;
  parameters: (string | number)[];
}

/** Metadata columns only: a listing never reads an envelope. */
const METADATA_COLUMNS =
  's.name, s.current_version, s.current_key_id, s.rotation_policy, s.tags, s.description, s.created_at, s.updated_at, s.expires_at';

/**
 * Above every character a name may hold (SECRET_NAME_PATTERN is ASCII below `z`): the names
 * starting with `prefix` are exactly those in [prefix, prefix + PREFIX_END) in byte order.
 */
const PREFIX_END = '\u007f';

/**
 * The SELECT of a page (`limit` rows, in name order) or of every match (`limit` undefined).
 * Names compare by bytes on both engines (COLLATE "C" on Postgres, on the index the migration
 * made for it), so a page resumes exactly after its cursor and a prefix is one range of the
 * index; with a tag, the tag's own rows are walked in name order and each joins its secret.
 */
export function listingStatement(
  postgres: boolean,
  filter: ListingFilter,
  limit?: number,
): ListingStatement {
  const where = conditions(postgres, filter);
  const order = ` ORDER BY ${where.nameKey}`;
  const limited = limit === undefined ? '' : ` LIMIT ${where.placeholder()}`;
  return {
    sql: `SELECT ${METADATA_COLUMNS} FROM ${where.from} WHERE ${where.sql}${order}${limited}`,
    parameters: limit === undefined ? where.parameters : [...where.parameters, limit],
  };
}

/** The COUNT of the same matches (every one: a count costs what the matches cost to walk). */
export function countStatement(postgres: boolean, filter: ListingFilter): ListingStatement {
  const where = conditions(postgres, filter);
  return {
    sql: `SELECT COUNT(*) AS count FROM ${where.from} WHERE ${where.sql}`,
    parameters: where.parameters,
  };
}

function conditions(postgres: boolean, filter: ListingFilter) {
  const parameters: (string | number)[] = [];
  let at = 0;
  const placeholder = (): string => (postgres ? `$${++at}` : '?');
  const bind = (value: string | number): string => {
    parameters.push(value);
    return placeholder();
  };
  const byTag = filter.tag !== undefined;
  const column = byTag ? 't.secret_name' : 's.name';
  const nameKey = postgres ? `${column} COLLATE "C"` : column;
  const clauses = ['s.deleted_at IS NULL'];
  if (filter.tag !== undefined) clauses.unshift(`t.tag = ${bind(filter.tag)}`);
  const scope = filter.scope.prefix;
  if (filter.after !== undefined) clauses.push(`${nameKey} > ${bind(scope + filter.after)}`);
  // Each scope is one range of the index: a tenant's under its prefix, the rest below `~`.
  const prefix = scope + (filter.prefix ?? '');
  if (prefix !== '') {
    clauses.push(`${nameKey} >= ${bind(prefix)}`);
    clauses.push(`${nameKey} < ${bind(prefix + PREFIX_END)}`);
  }
  if (scope === '') clauses.push(`${nameKey} < ${bind(TENANT_SCOPE_MARK)}`);
  return {
    from: byTag
      ? 'kms_secret_tags t JOIN kms_secrets s ON s.name = t.secret_name'
      : 'kms_secrets s',
    sql: clauses.join(' AND '),
    nameKey,
    parameters,
    placeholder,
  };
}

/** A listing's row as SecretMetadata (Postgres answers bigint columns as strings). */
export function metadataOfRow(row: Record<string, unknown>, scope: SecretScope): SecretMetadata {
  const expiresAt = row.expires_at;
  return toMetadata(
    {
      name: row.name as string,
      currentVersion: Number(row.current_version),
      createdAt: Number(row.created_at),
      updatedAt: Number(row.updated_at),
      expiresAt: expiresAt === null ? null : Number(expiresAt),
      currentKeyId: row.current_key_id as string,
      tags: row.tags as string,
      rotationPolicy: row.rotation_policy as RotationPolicy,
      description: row.description as string | null,
    },
    scope,
  );
}
