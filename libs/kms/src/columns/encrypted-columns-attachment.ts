import { Inject, Injectable } from '@nestjs/common';
import { KmsKeyring } from '../core/kms-keyring.js';
import { KmsTenants } from '../core/kms-tenants.js';
import { formatCompactEnvelope } from '../envelope/envelope-codec.js';
import { KeyringEnvelopes } from '../keyring/keyring-envelopes.js';
import { KMS_RESOLVED_OPTIONS } from '../kms.constants.js';
import type { ResolvedKmsOptions } from '../kms.options.js';
import { KmsStorage } from '../storage/kms-storage.js';
import { useKmsDataSource } from './column-coverage.js';
import { EncryptedColumns } from './encrypted-columns.js';

/**
 * Serves the @EncryptedColumn entities of the KMS DataSource from the keyring: their values are
 * sealed and opened as envelopes of the `column` purpose, their columns registered for
 * re-encryption, and their blind indexes keyed by the master keys this process holds.
 */
@Injectable()
export class EncryptedColumnsAttachment {
  private columns: EncryptedColumns | undefined;

  constructor(
    @Inject(KMS_RESOLVED_OPTIONS) private readonly options: ResolvedKmsOptions,
    private readonly storage: KmsStorage,
    private readonly keyring: KmsKeyring,
    private readonly envelopes: KeyringEnvelopes,
    private readonly tenants: KmsTenants,
  ) {}

  /** Attaches the subscriber (once the keyring is open). */
  async attach(): Promise<void> {
    const dataSource = await this.storage.dataSource();
    this.columns = await EncryptedColumns.attach(
      dataSource,
      {
        seal: (bytes, aad, keys) =>
          formatCompactEnvelope(this.envelopes.sealBytes(bytes, aad, 'column', keys)),
        open: (envelope, aad, keys) =>
          this.envelopes.open(envelope, aad, 'column', undefined, keys),
        openMany: (count, itemAt, keys) =>
          this.envelopes.openMany(count, itemAt, 'column', undefined, keys),
        tenantKeys: (tenant, sealing) => this.tenants.keysOf(tenant, sealing),
        indexRootKey: () => this.keyring.ready().indexRootKey,
        masterKeys: () => this.keyring.masterKeys(),
      },
      (column) => this.storage.registerEnvelopeColumn(column),
    );
    // So that a write this KMS does not serve is refused with advice that fits its wiring.
    const { storage } = this.options;
    useKmsDataSource(
      this,
      storage.kind === 'owned'
        ? { connection: true }
        : {
            connection: false,
            name: typeof storage.dataSource === 'string' ? storage.dataSource : undefined,
          },
    );
  }

  /** After a master-key rotation in this process: blind indexes under the new key too. */
  async masterKeyRotated(): Promise<void> {
    await this.columns?.masterKeyRotated();
  }

  detach(): void {
    useKmsDataSource(this, undefined);
    this.columns?.detach();
    this.columns = undefined;
  }
}
