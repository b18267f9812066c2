import { Injectable } from '@nestjs/common';
import { KmsService } from '../kms.service.js';
import { EXPORT_MASTER_KEY, openExport, sealExport, type SealedExport } from './sealed-export.js';

/**
 * Payloads (a secrets backup) sealed under a one-off key the master key wraps, and opened again.
 * For nest-kms's own libraries, through `@nest-kms/kms/extension`.
 */
@Injectable()
export class SealedExports {
  constructor(private readonly kms: KmsService) {}

  /** Seals `payload`; `purpose` (e.g. 'secrets-backup') is bound into the encryption. */
  async seal(payload: Buffer, purpose: string): Promise<SealedExport> {
    const master = this.kms[EXPORT_MASTER_KEY]();
    return sealExport(master.provider, master.fingerprint, payload, purpose);
  }

  /** Opens what seal() made for `purpose`; anything altered or foreign is an InvalidExportError. */
  async open(sealed: unknown, purpose: string): Promise<Buffer> {
    // Made before a master-key rotation: opens while the old key is still KMS_MASTER_KEY_PREVIOUS.
    const madeUnder = (sealed as { masterKeyFingerprint?: unknown } | null)?.masterKeyFingerprint;
    const master = this.kms[EXPORT_MASTER_KEY](madeUnder);
    return openExport(master.provider, master.fingerprint, sealed, purpose);
  }
}
