/**
 * In an answer of `tenantMasterKeys.providerFor`, the keyring's own master key, first in a list:
 * `[KEYRING_MASTER_KEY, tenantsKey]` moves a tenant that brought its own key back under the
 * keyring's (its keys unwrap with `tenantsKey` and are re-wrapped under the keyring's master
 * key on the tenant's next load). Once every key of the tenant is moved, answer `undefined`.
 */
export const KEYRING_MASTER_KEY: unique symbol = Symbol.for('@nest-kms/kms keyring master key');
