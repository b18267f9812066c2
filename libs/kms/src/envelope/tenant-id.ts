import { InvalidTenantError } from '../errors/invalid-tenant.error.js';

/** What a tenant id can be: short, printable, no separators a log or a URL would mangle. */

const TENANT_ID = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}$/;
/** The tenant id as given, or InvalidTenantError. */
export function checkTenant(tenant: unknown): string {
  if (typeof tenant !== 'string' || !TENANT_ID.test(tenant)) throw new InvalidTenantError(tenant);
  return tenant;
}
