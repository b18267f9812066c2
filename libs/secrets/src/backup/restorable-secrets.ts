import { KeyringIntegrityError } from '@nest-kms/kms';
import type { SealedExports } from '@nest-kms/kms/extension';
import { secretBinding } from '../secret.mapping.js';
import { tenantOfStoredName } from '../secret-scope.js';
import type { BackupPayload, BackupSecret } from './backup-payload.js';
import type { SecretsRestoreResult } from './secrets-backup.interface.js';

/** What a restore can take of a backup, and what it reports. */
export interface RestorableSecrets {
  restorable: BackupSecret[];
  /** Names of the restorable secrets whose values were sealed anew here. */
  sealedAnew: Set<string>;
  notRestored: SecretsRestoreResult['notRestored'];
}

/**
 * The backup's secrets this keyring can take: as they are; or, for a tenant's secret of another
 * keyring, with its values sealed anew under this keyring's keys of that tenant. The others (a
 * tenant destroyed here, a tenant under its own master key in another keyring) are reported.
 */
export async function restorableSecrets(
  exports: SealedExports,
  payload: BackupPayload,
): Promise<RestorableSecrets> {
  const unusable = await exports.tenantKeysUnusable(payload.keyring);
  const restorable: BackupSecret[] = [];
  const sealedAnew = new Set<string>();
  const notRestored: SecretsRestoreResult['notRestored'] = [];
  for (const secret of payload.secrets) {
    const reason = secret.versions
      .map((version) => unusable.get(version.keyId))
      .find((found) => found !== undefined);
    if (reason === undefined) {
      restorable.push(secret);
      continue;
    }
    const resealed =
      reason === 'tenant-keys-of-another-keyring'
        ? await sealedAnewHere(exports, payload, secret)
        : undefined;
    if (resealed) {
      restorable.push(resealed);
      sealedAnew.add(secret.name);
    } else notRestored.push({ name: secret.name, reason });
  }
  return { restorable, sealedAnew, notRestored };
}

/**
 * A tenant's secret from another keyring with every version sealed anew under this keyring's
 * keys of the tenant, each bound as before to its name, version and tenant; undefined when the
 * backup's keys do not unwrap here (the tenant's own master key wraps them).
 */
async function sealedAnewHere(
  exports: SealedExports,
  payload: BackupPayload,
  secret: BackupSecret,
): Promise<BackupSecret | undefined> {
  const tenant = tenantOfStoredName(secret.name);
  if (tenant === undefined) return undefined;
  let sealed;
  try {
    sealed = await exports.resealTenantValues(
      payload.keyring,
      'secret',
      tenant,
      secret.versions.map((version) => ({
        envelope: version.envelope,
        aad: secretBinding(secret.name, version.version, tenant),
      })),
    );
  } catch (error) {
    if (error instanceof KeyringIntegrityError) return undefined;
    throw error;
  }
  return {
    ...secret,
    versions: secret.versions.map((version, at) => ({
      ...version,
      envelope: sealed[at].envelope,
      keyId: sealed[at].keyId,
    })),
  };
}
