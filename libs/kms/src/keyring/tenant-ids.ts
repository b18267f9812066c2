import { createHmac, randomBytes } from 'node:crypto';
import { KeyringIntegrityError } from '../errors/keyring-integrity.error.js';

/** Every tenant data key id starts with this; no other key id does. */
export const TENANT_KEY_PREFIX = 'tk-';
/** Characters of a tenant tag: 16 bytes of HMAC, base64url. */
const TAG_CHARS = 22;
/** Characters of a tenant data key id (`tk-<tag>-<random>`, both 16 bytes in base64url). */
export const TENANT_KEY_ID_CHARS = TENANT_KEY_PREFIX.length + TAG_CHARS + 1 + 22;
/** Characters of a tenant key id up to its tag's end (`tk-<tag>`): equal for keys of one tenant. */
export const TENANT_KEY_TAG_END = TENANT_KEY_PREFIX.length + TAG_CHARS;

/**
 * The keyed tag of a tenant (HMAC-SHA256 under a keyring subkey, 16 bytes, base64url): what
 * the database and key ids hold instead of the tenant's name, so neither names a customer.
 */
export function tenantTag(tagKey: Buffer, tenant: string): string {
  return createHmac('sha256', tagKey)
    .update(tenant, 'utf8')
    .digest()
    .subarray(0, 16)
    .toString('base64url');
}

/**
 * What names a keyring's tenant tag key without revealing it: the tag of a label no tenant id
 * can be (tenant ids hold no '/'). Two keyrings tag tenants alike exactly when it is equal.
 */
export function tenantTagCheck(tagKey: Buffer): string {
  return tenantTag(tagKey, 'nest-kms/tenant-tag-check');
}

/**
 * A new tenant data key id: `tk-<tag>-<random>`. The id is bound into the key's wrap under the
 * master key, so the tenant a key belongs to cannot be changed in the database without its
 * unwrap failing; and it is in every envelope's authenticated header.
 */
export function newTenantKeyId(tag: string): string {
  return `${TENANT_KEY_PREFIX}${tag}-${randomBytes(16).toString('base64url')}`;
}

/** Whether `keyId` names a tenant's data key. */
export function isTenantKeyId(keyId: string): boolean {
  return keyId.startsWith(TENANT_KEY_PREFIX);
}

/** The tag of the tenant a tenant key id belongs to, or undefined for any other id. */
export function tagOfTenantKeyId(keyId: string): string | undefined {
  if (!isTenantKeyId(keyId) || keyId[TENANT_KEY_PREFIX.length + TAG_CHARS] !== '-') {
    return undefined;
  }
  return keyId.slice(TENANT_KEY_PREFIX.length, TENANT_KEY_PREFIX.length + TAG_CHARS);
}

/**
 * Refuses (KeyringIntegrityError) a key about to be held as `tag`'s (null: the keyring's own)
 * whose id names another owner. A key's wrap binds its id, not the row's `tenant` column, so a
 * row moved between tenants, or into or out of the keyring's own keys, by that column alone
 * would otherwise open another owner's envelopes.
 */
export function assertKeyOwner(keyId: string, tag: string | null): void {
  if (tag === null ? !isTenantKeyId(keyId) : tagOfTenantKeyId(keyId) === tag) return;
  throw new KeyringIntegrityError(
    keyId,
    tag === null
      ? "a tenant's key id among the keyring's own keys"
      : 'held as the key of a tenant its id does not name',
  );
}
