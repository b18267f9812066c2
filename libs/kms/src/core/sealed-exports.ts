import { Injectable } from '@nestjs/common';
import { encodeAad } from '../envelope/aad.js';
import type { AadInput, EnvelopePurpose } from '../envelope/envelope.interface.js';
import { checkTenant } from '../envelope/tenant-id.js';
import type { ExportedKeyring, TenantKeyUnusable } from '../keyring/exported-keyring.js';
import { ExportedTenantKeys } from '../keyring/exported-tenant-keys.js';
import { KeyringEnvelopes } from '../keyring/keyring-envelopes.js';
import { sealedValue, type SealedStoreValue } from '../keyring/purpose-envelopes.js';
import { KeyAdministration } from './key-administration.js';
import { KmsKeyring } from './kms-keyring.js';
import { KmsTenants } from './kms-tenants.js';
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
    private readonly envelopes: KeyringEnvelopes,
    private readonly tenants: KmsTenants,
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

  /**
   * A backup's values of `tenant` made in another keyring (their keys carry that keyring's
   * tenant tags), sealed anew under this keyring's keys of the same tenant (its first key made
   * now if it has none), in order. Each is opened with the backup's key, unwrapped under this
   * keyring's master key for this call only, and must be bound to exactly its `aad` (which
   * names the tenant); its plaintext lives for its own re-seal. KeyringIntegrityError when a key
   * does not unwrap here (a tenant under its own master key).
   */
  async resealTenantValues(
    exported: ExportedKeyring,
    purpose: EnvelopePurpose,
    tenant: string,
    values: readonly { readonly envelope: string; readonly aad: AadInput }[],
  ): Promise<SealedStoreValue[]> {
    checkTenant(tenant);
    const keyring = this.keyring.ready();
    const backupKeys = new ExportedTenantKeys(exported.tenantKeys ?? [], (row) =>
      keyring.unwrapRow(row),
    );
    try {
      const sealing = await this.tenants.sealing(tenant);
      const sealed: SealedStoreValue[] = [];
      for (const { envelope, aad } of values) {
        const expected = encodeAad(aad);
        const plaintext = await this.envelopes.open(
          envelope,
          expected,
          purpose,
          undefined,
          backupKeys,
        );
        try {
          sealed.push(sealedValue(this.envelopes.sealBytes(plaintext, expected, purpose, sealing)));
        } finally {
          plaintext.fill(0);
        }
      }
      return sealed;
    } finally {
      backupKeys.zero();
    }
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
