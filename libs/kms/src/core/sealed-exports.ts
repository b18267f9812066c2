import { Injectable } from '@nestjs/common';
import type { ExportedKeyring, TenantKeyUnusable } from '../keyring/exported-keyring.js';
import { KeyAdministration } from './key-administration.js';
import { KmsKeyring } from './kms-keyring.js';
import { openExport, sealExport, type SealedExport } from '../keyring/sealed-export.js';

/**
 * Payloads (a secrets backup) sealed under a one-off key the master key wraps, and opened again.
 * For nest-kms's own libraries, through `@nest-kms/kms/extension`.
 */
@Injectable()
export class SealedExports {
  constructor(
    private readonly keyring: KmsKeyring,
    private readonly keys: KeyAdministration,
  ) {}

  /** Seals `payload`; `purpose` (e.g. 'secrets-backup') is bound into the encryption. */
  async seal(payload: Buffer, purpose: string): Promise<SealedExport> {
    const { masterKey } = this.keyring.ready();
    return sealExport(masterKey.provider, masterKey.fingerprint, payload, purpose);
  }

  /** An export's tenant keys that this keyring cannot use, and why (restoring a backup). */
  tenantKeysUnusable(exported: ExportedKeyring): Promise<Map<string, TenantKeyUnusable>> {
    return this.keys.tenantKeysUnusable(exported);
  }

  /** Opens what seal() made for `purpose`; anything altered or foreign is an InvalidExportError. */
  async open(sealed: unknown, purpose: string): Promise<Buffer> {
    const keyring = this.keyring.ready();
    // Made before a master-key rotation: opens while the old key is still KMS_MASTER_KEY_PREVIOUS.
    const madeUnder = (sealed as { masterKeyFingerprint?: unknown } | null)?.masterKeyFingerprint;
    const master = keyring.heldMasterKey(madeUnder) ?? keyring.masterKey;
    return openExport(master.provider, master.fingerprint, sealed, purpose);
  }
}
