import { Inject, Injectable, Logger } from '@nestjs/common';
import { EncryptedColumnsAttachment } from '../columns/encrypted-columns-attachment.js';
import { DataKeyInUseError } from '../errors/data-key-in-use.error.js';
import { DataKeyNotFoundError } from '../errors/data-key-not-found.error.js';
import { MasterKeyMismatchError } from '../errors/master-key-mismatch.error.js';
import type { DataKeyInfo } from '../interfaces/data-key-info.interface.js';
import { isDataKeyId } from '../keyring/data-key.js';
import {
  fromExportedKey,
  toExportedKey,
  type ExportedKeyring,
  type TenantKeyUnusable,
} from '../keyring/exported-keyring.js';
import type { StoredDataKey } from '../keyring/keyring-store.interface.js';
import type { MasterKeyInfo } from '../interfaces/master-key-info.interface.js';
import type { MasterKeyRotation } from '../keyring/master-keys.js';
import { KMS_RESOLVED_OPTIONS } from '../kms.constants.js';
import { KMS_EVENTS } from '../kms.messages.js';
import type { ResolvedKmsOptions } from '../kms.options.js';
import type { MasterKeyProvider } from '../master-key/master-key-provider.interface.js';
import { KeyLifecycle } from '../rotation/key-lifecycle.js';
import { KmsKeyring } from './kms-keyring.js';
import { unguarded } from '../master-key/guarded-master-key.js';
import { KmsSecurityEvents } from './kms-security-events.js';
import { MasterKeyGuard } from './master-key-guard.js';
import { releaseProvider, resolveMasterKeyProvider } from './master-key-sources.js';

/**
 * What an operator does to the keys (KmsService's key administration): list, destroy, export
 * and import data keys, count what uses one, and rotate the master key.
 */
@Injectable()
export class KeyAdministration {
  private readonly logger = new Logger('KmsService');

  constructor(
    @Inject(KMS_RESOLVED_OPTIONS) private readonly options: ResolvedKmsOptions,
    private readonly keyring: KmsKeyring,
    private readonly lifecycle: KeyLifecycle,
    private readonly columns: EncryptedColumnsAttachment,
    private readonly guard: MasterKeyGuard,
    private readonly security: KmsSecurityEvents,
  ) {}

  async countEnvelopesUsing(keyId: string): Promise<number> {
    this.keyring.ready();
    if (!isDataKeyId(keyId)) return 0;
    return this.lifecycle.countUsing(keyId);
  }

  async destroyDataKey(keyId: string): Promise<void> {
    try {
      await this.destroyUnused(keyId);
    } catch (error) {
      // An attempt to destroy a key in use is what a security team wants to hear about.
      if (error instanceof DataKeyInUseError) {
        this.security.publish({ kind: 'data-key-destroy-refused', keyId, code: error.code });
      }
      throw error;
    }
    this.security.publish({ kind: 'data-key-destroyed', keyId });
    this.logger.log({ event: KMS_EVENTS.dataKeyDestroyed, keyId });
  }

  private async destroyUnused(keyId: string): Promise<void> {
    const keyring = this.keyring.ready();
    if (!isDataKeyId(keyId)) throw new DataKeyNotFoundError(keyId);
    if (keyring.active.id === keyId) throw new DataKeyInUseError(keyId, 0, true);
    const envelopes = await this.lifecycle.countUsing(keyId);
    if (envelopes > 0) throw new DataKeyInUseError(keyId, envelopes, false);
    if (!(await keyring.destroyKey(keyId))) {
      const stored = await keyring.fetch(keyId).catch(() => undefined);
      if (stored?.status === 'active') throw new DataKeyInUseError(keyId, 0, true);
      throw new DataKeyNotFoundError(keyId);
    }
  }

  async rotateMasterKey(
    masterKey: string | Buffer | MasterKeyProvider,
  ): Promise<MasterKeyRotation> {
    const keyring = this.keyring.ready();
    const resolved = await resolveMasterKeyProvider({
      masterKey,
      production: this.options.production,
    });
    const next = this.guard.guard(resolved);
    const old = keyring.masterKey.provider;
    let rotation: MasterKeyRotation;
    try {
      rotation = await keyring.rotateMasterKey(next);
    } catch (error) {
      // A provider the caller passed is the caller's to release.
      if (resolved !== masterKey) releaseProvider(next);
      throw error;
    }
    await this.columns.masterKeyRotated();
    if (unguarded(old) !== this.options.masterKey) releaseProvider(old);
    this.logger.log({ event: KMS_EVENTS.masterKeyRotated, ...rotation });
    this.security.publish({ kind: 'master-key-rotated', fingerprint: keyring.fingerprint });
    return rotation;
  }

  async listMasterKeys(): Promise<MasterKeyInfo[]> {
    const keyring = this.keyring.ready();
    const held = new Set(keyring.additionalMasterKeys.map((key) => key.fingerprint));
    const additional = new Set([...held, ...(await keyring.wraps.list())]);
    const infos: MasterKeyInfo[] = [
      { fingerprint: keyring.fingerprint, role: 'primary', held: true, keysWithoutWrap: 0 },
    ];
    for (const fingerprint of [...additional].sort()) {
      infos.push({
        fingerprint,
        role: 'additional',
        held: held.has(fingerprint),
        keysWithoutWrap: await keyring.wraps.countMissing(fingerprint),
      });
    }
    return infos;
  }

  async removeMasterKey(fingerprint: string): Promise<number> {
    const removed = await this.keyring.ready().wraps.remove(fingerprint);
    this.logger.log({ event: KMS_EVENTS.masterKeyRemoved, fingerprint, wraps: removed });
    this.security.publish({ kind: 'master-key-removed', fingerprint });
    return removed;
  }

  async listDataKeys(): Promise<DataKeyInfo[]> {
    const keys = await this.keyring.ready().exportKeys();
    return keys
      .toSorted((a, b) => b.createdAt - a.createdAt)
      .map((key) => ({
        id: key.id,
        status: key.status,
        createdAt: new Date(key.createdAt).toISOString(),
        retiredAt: key.retiredAt === null ? null : new Date(key.retiredAt).toISOString(),
        masterKeyFingerprint: key.masterKeyFingerprint,
      }));
  }

  async exportKeyring(): Promise<ExportedKeyring> {
    const keyring = this.keyring.ready();
    const keys = await keyring.exportKeys();
    const exported: ExportedKeyring = {
      masterKeyFingerprint: keyring.fingerprint,
      dataKeys: keys.map(toExportedKey),
    };
    const tenantKeys = keyring.hasTenantKeys ? await keyring.tenants.listStored() : [];
    if (tenantKeys.length === 0) return exported;
    return {
      ...exported,
      tenantKeys: tenantKeys.map(({ tag, key }) => ({ ...toExportedKey(key), tenant: tag })),
      tenantTagCheck: keyring.tenants.tagCheck,
    };
  }

  /**
   * Which of an export's tenant keys this keyring cannot use, and why: all of them when another
   * keyring tagged them (their ids name tenants by that keyring's tags), else those not stored
   * here (destroyed with their tenant). Never adds one: a destroyed tenant's key brought back
   * from a backup would undo its crypto-shredding.
   */
  async tenantKeysUnusable(exported: ExportedKeyring): Promise<Map<string, TenantKeyUnusable>> {
    const unusable = new Map<string, TenantKeyUnusable>();
    const wanted = exported.tenantKeys ?? [];
    if (wanted.length === 0) return unusable;
    const keyring = this.keyring.ready();
    const sameTags = keyring.hasTenantKeys && exported.tenantTagCheck === keyring.tenants.tagCheck;
    const stored = sameTags
      ? new Map((await keyring.tenants.listStored()).map(({ key }) => [key.id, key]))
      : new Map<string, StoredDataKey>();
    for (const key of wanted) {
      if (!sameTags) unusable.set(key.id, 'tenant-keys-of-another-keyring');
      else if (!stored.has(key.id)) unusable.set(key.id, 'tenant-key-not-stored');
    }
    return unusable;
  }

  async importKeyring(exported: ExportedKeyring): Promise<string[]> {
    const keyring = this.keyring.ready();
    if (!keyring.heldMasterKey(exported.masterKeyFingerprint)) {
      throw new MasterKeyMismatchError(exported.masterKeyFingerprint, keyring.fingerprint);
    }
    const added = await keyring.importKeys(exported.dataKeys.map(fromExportedKey));
    if (added.length > 0) this.lifecycle.keysImported();
    return added;
  }
}
