import { KmsError } from './kms.error.js';

/**
 * destroyTenant was called without `confirm` set to the tenant's own id: destroying a tenant's
 * keys makes its data unreadable for good, so the call must name it twice.
 */
export class TenantDestructionNotConfirmedError extends KmsError {
  readonly code = 'KMS_TENANT_DESTRUCTION_NOT_CONFIRMED';
  constructor() {
    super(
      'destroyTenant refused: it makes every envelope of the tenant unreadable for good; pass { confirm: <the same tenant id> } to confirm',
    );
  }
}
