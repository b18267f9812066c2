import { KmsError } from './kms.error.js';

/**
 * An envelope opened as another tenant's (or as a tenant's when it belongs to none, or the
 * reverse): its data key belongs to another tenant. Nothing is decrypted.
 */
export class TenantMismatchError extends KmsError {
  readonly code = 'KMS_TENANT_MISMATCH';
  constructor(
    /** Whether the caller named a tenant. */
    readonly tenantGiven: boolean,
  ) {
    super(
      tenantGiven
        ? 'Tenant mismatch: the envelope was not sealed under the data keys of the tenant given to decrypt it'
        : "Tenant mismatch: the envelope was sealed under a tenant's data key; decrypt it with that tenant's `tenant` option",
    );
  }
}
