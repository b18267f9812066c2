import { checkTenant } from '@nest-kms/kms/extension';
import { InvalidSecretInputError } from './errors/invalid-secret-input.error.js';
import { SECRET_NAME_PATTERN } from './secrets.validation.js';

/**
 * Where a secret's name lives: the untenanted names, or one tenant's. A tenant's secret is
 * stored under `~<tenant>/<name>`: `~` never starts a name a caller may give (a letter or a
 * digit does) and sorts after every such first character, and a tenant id holds no `/`, so a
 * stored name says its tenant unambiguously, tenants' names never meet each other's or the
 * untenanted ones, and each scope is one contiguous range of the name index. Every table, the
 * cache, the change notices and the audit trail then key a tenant's secret by that one string.
 */
export interface SecretScope {
  /** The tenant, or undefined for the untenanted names. */
  readonly tenant: string | undefined;
  /** What the stored name adds before the caller's: '' untenanted, `~<tenant>/` for a tenant. */
  readonly prefix: string;
}

/** The first character of every tenant's stored names. */
export const TENANT_SCOPE_MARK = '~';

export const UNTENANTED: SecretScope = { tenant: undefined, prefix: '' };

/** The scope of `tenant` (InvalidTenantError for an id the KMS would refuse). */
export function tenantScope(tenant: string): SecretScope {
  checkTenant(tenant);
  return { tenant, prefix: `${TENANT_SCOPE_MARK}${tenant}/` };
}

/** The tenant a stored name belongs to, or undefined for an untenanted name. */
export function tenantOfStoredName(stored: string): string | undefined {
  if (!stored.startsWith(TENANT_SCOPE_MARK)) return undefined;
  const end = stored.indexOf('/');
  return end < 0 ? undefined : stored.slice(TENANT_SCOPE_MARK.length, end);
}

/** The caller's name of a stored name of `scope`. */
export const nameInScope = (scope: SecretScope, stored: string): string =>
  scope.prefix === '' ? stored : stored.slice(scope.prefix.length);

/**
 * Whether the caller's `name` may be looked up in the cache as `storedName(scope, name)`: not
 * an untenanted name in the tenants' range (refused as a name, it must not hit a tenant's
 * cached value). The cache holds only names validated when read, so nothing else is needed.
 */
export const mayBeCached = (scope: SecretScope, name: string): boolean =>
  scope.prefix !== '' || typeof name !== 'string' || name.charCodeAt(0) !== SCOPE_MARK_CODE;

const SCOPE_MARK_CODE = TENANT_SCOPE_MARK.charCodeAt(0);

/** The stored name of the caller's `name` in `scope` (not a string: as it is, to be refused). */
export const storedName = (scope: SecretScope, name: string): string =>
  scope.prefix === '' || typeof name !== 'string' ? name : scope.prefix + name;

/**
 * A name as stored (a backup holds them): a caller's name, or a tenant's `~<tenant>/<name>`.
 * InvalidSecretInputError (field `name`), or InvalidTenantError for a bad tenant, otherwise.
 */
export function checkStoredName(stored: unknown): asserts stored is string {
  if (typeof stored === 'string') {
    const tenant = tenantOfStoredName(stored);
    if (tenant === undefined && SECRET_NAME_PATTERN.test(stored)) return;
    if (tenant !== undefined && SECRET_NAME_PATTERN.test(stored.slice(tenant.length + 2))) {
      checkTenant(tenant);
      return;
    }
  }
  throw new InvalidSecretInputError('name', "must be a secret name, or a tenant's stored name");
}
