import { type KmsService } from '@nest-kms/kms';
import { purposeEnvelopes, type SealedStoreValue } from '@nest-kms/kms/extension';
import { secretBinding } from './secret.mapping.js';

/**
 * A secret version's value as the secrets store keeps it: an envelope sealed for the store's
 * purpose (so nothing made through the public encrypt API opens as a secret, whatever its AAD)
 * and bound to the secret's name and version (so a value copied to another row does not open).
 */
export function sealSecretValue(
  kms: KmsService,
  name: string,
  version: number,
  value: string,
): SealedStoreValue {
  return purposeEnvelopes(kms, 'secret').seal(value, secretBinding(name, version));
}

/** The value of a stored secret version; refused unless sealed for the store and this version. */
export function openSecretValue(
  kms: KmsService,
  name: string,
  version: number,
  envelope: string,
): Promise<string> {
  return purposeEnvelopes(kms, 'secret').open(envelope, secretBinding(name, version));
}
