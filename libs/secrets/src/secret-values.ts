import { type KmsService } from '@nest-kms/kms';
import {
  purposeEnvelopes,
  tenantPurposeEnvelopes,
  type KeptPlaintext,
  type PurposeSealer,
  type SealedStoreValue,
} from '@nest-kms/kms/extension';
import { secretBinding } from './secret.mapping.js';
import { tenantOfStoredName } from './secret-scope.js';

/**
 * What seals the values of secrets stored under `name`: the keyring's keys, or its tenant's
 * (loaded, and made on the tenant's first secret, before the caller's transaction). Answers
 * without a promise for an untenanted name.
 */
export function secretSealer(
  kms: KmsService,
  name: string,
): PurposeSealer | Promise<PurposeSealer> {
  const tenant = tenantOfStoredName(name);
  return tenant === undefined
    ? purposeEnvelopes(kms, 'secret')
    : tenantPurposeEnvelopes(kms, 'secret', tenant).sealer();
}

/**
 * A secret version's value as the secrets store keeps it: an envelope sealed for the store's
 * purpose (so nothing made through the public encrypt API opens as a secret, whatever its AAD),
 * under its tenant's keys for a tenant's secret, and bound to the secret's stored name, version
 * and tenant (so a value copied to another row, or another tenant's, does not open).
 */
export function sealSecretValue(
  sealer: PurposeSealer,
  name: string,
  version: number,
  value: string,
): SealedStoreValue {
  return sealer.seal(value, secretBinding(name, version, tenantOfStoredName(name)));
}

/**
 * The value of a stored secret version; refused unless sealed for the store and this version,
 * and for a tenant's secret, under that tenant's keys (DataKeyNotFoundError once destroyed).
 */
export function openSecretValue(
  kms: KmsService,
  name: string,
  version: number,
  envelope: string,
): Promise<string> {
  const tenant = tenantOfStoredName(name);
  const binding = secretBinding(name, version, tenant);
  return tenant === undefined
    ? purposeEnvelopes(kms, 'secret').open(envelope, binding)
    : tenantPurposeEnvelopes(kms, 'secret', tenant).open(envelope, binding);
}

/**
 * As openSecretValue, with until when the value may be cached (epoch ms): a tenant under its own
 * master key has its values dropped when its keys are due to be unwrapped again, so that its
 * revoking the key reaches cached values as it reaches the keys; Infinity otherwise.
 */
export async function openSecretValueKept(
  kms: KmsService,
  name: string,
  version: number,
  envelope: string,
): Promise<KeptPlaintext> {
  const tenant = tenantOfStoredName(name);
  const binding = secretBinding(name, version, tenant);
  return tenant === undefined
    ? { value: await purposeEnvelopes(kms, 'secret').open(envelope, binding), keepUntil: Infinity }
    : tenantPurposeEnvelopes(kms, 'secret', tenant).openKept(envelope, binding);
}
