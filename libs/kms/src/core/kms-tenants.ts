import { Injectable, Logger } from '@nestjs/common';
import { checkTenant } from '../envelope/tenant-id.js';
import { TenantDestructionNotConfirmedError } from '../errors/tenant-destruction-not-confirmed.error.js';
import type { DataKeyRotation } from '../interfaces/data-key-rotation.interface.js';
import type {
  DestroyTenantOptions,
  TenantDestruction,
} from '../interfaces/tenant-destruction.interface.js';
import type { KeySource } from '../keyring/key-source.js';
import type { TenantKeySet } from '../keyring/tenant-key-set.js';
import { KMS_EVENTS } from '../kms.messages.js';
import { KeyLifecycle } from '../rotation/key-lifecycle.js';
import { KmsKeyring } from './kms-keyring.js';
import { KmsRegion } from './kms-region.js';
import { KmsSecurityEvents } from './kms-security-events.js';

/**
 * Which data keys an operation uses (the keyring's own, or a tenant's, loaded on its first use)
 * and what an operator does to a tenant's keys: rotate them, destroy them (crypto-shredding).
 */
@Injectable()
export class KmsTenants {
  private readonly logger = new Logger('KmsService');

  constructor(
    private readonly keyring: KmsKeyring,
    private readonly region: KmsRegion,
    private readonly lifecycle: KeyLifecycle,
    private readonly security: KmsSecurityEvents,
  ) {}

  /** The keys to seal under: the keyring's own, or the tenant's (its first made now). */
  sealing(tenant: string | undefined): KeySource | Promise<KeySource> {
    return tenant === undefined ? this.keyring.ready() : this.keysOf(tenant, true);
  }

  /** The keys to open with: the keyring's own, or the tenant's (loaded, never made). */
  opening(tenant: string | undefined): KeySource | Promise<KeySource> {
    return tenant === undefined ? this.keyring.ready() : this.keysOf(tenant, false);
  }

  /** A tenant's keys, to seal with (its first made now) or to open with (loaded, never made). */
  keysOf(tenant: string, sealing: boolean): TenantKeySet | Promise<TenantKeySet> {
    const tenants = this.keyring.ready().tenants;
    if (!sealing) return tenants.forOpening(tenant);
    const held = tenants.inMemory(tenant);
    if (held.hasActive) return held;
    this.region.assertWritable("a tenant's first data key");
    return tenants.of(tenant, true);
  }

  /** As opening, with what is in memory only (a tenant not loaded opens nothing). */
  inMemory(tenant: string | undefined): KeySource {
    const keyring = this.keyring.ready();
    return tenant === undefined ? keyring : keyring.tenants.inMemory(tenant);
  }

  async rotate(tenant: string): Promise<DataKeyRotation> {
    const keyring = this.keyring.ready();
    checkTenant(tenant);
    this.region.assertWritable('rotateTenantKey');
    const rotation = await keyring.tenants.rotate(tenant);
    this.lifecycle.tenantKeyRotated(rotation, 'manual');
    return rotation;
  }

  async destroy(tenant: string, options: DestroyTenantOptions): Promise<TenantDestruction> {
    const tenants = this.keyring.ready().tenants;
    checkTenant(tenant);
    if (options?.confirm !== tenant) throw new TenantDestructionNotConfirmedError();
    this.region.assertWritable('destroyTenant');
    let envelopesUnreadable = 0;
    for (const keyId of await tenants.storedKeyIds(tenant)) {
      envelopesUnreadable += await this.lifecycle.countUsing(keyId);
    }
    const keysDestroyed = (await tenants.destroy(tenant)).length;
    const destruction = { tenant, keysDestroyed, envelopesUnreadable };
    this.security.publish({ kind: 'tenant-destroyed', ...destruction });
    this.logger.log({ event: KMS_EVENTS.tenantDestroyed, ...destruction });
    return destruction;
  }
}
