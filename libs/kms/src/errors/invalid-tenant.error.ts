import { KmsError } from './kms.error.js';
import { quotedInput } from './quoted-input.js';

/** A tenant id that is not a string of 1 to 64 letters, digits and `. _ : @ -`. */
export class InvalidTenantError extends KmsError {
  readonly code = 'KMS_INVALID_TENANT';
  constructor(readonly tenant: unknown) {
    super(
      `Invalid tenant ${quotedInput(tenant)}: a tenant id is 1 to 64 characters, letters, digits and . _ : @ -, starting with a letter or a digit`,
    );
  }
}
