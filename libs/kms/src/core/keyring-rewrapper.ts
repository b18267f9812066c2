import { Injectable } from '@nestjs/common';
import { formatCompactEnvelope } from '../envelope/envelope-codec.js';
import type { EnvelopePurpose } from '../envelope/envelope.interface.js';
import { KeyringEnvelopes } from '../keyring/keyring-envelopes.js';
import type { TenantRewrapKeys } from '../keyring/tenant-rewrap-keys.js';
import { tenantTagOfEnvelope } from '../reencryption/tenant-envelope-tag.js';
import type { EnvelopeRewrapper } from '../reencryption/reencryption.job.js';
import type { RewrapKeys } from '../reencryption/rewrap-thread.js';
import { EnvelopeActivity } from './envelope-activity.js';
import { KmsKeyring } from './kms-keyring.js';

/**
 * Re-encryption's access to the keyring: the active key, and one envelope moved under it (a
 * tenant's under its tenant's active key).
 */
@Injectable()
export class KeyringRewrapper implements EnvelopeRewrapper {
  constructor(
    private readonly keyring: KmsKeyring,
    private readonly envelopes: KeyringEnvelopes,
    private readonly activity: EnvelopeActivity,
  ) {}

  activeKeyId(): string {
    return this.keyring.ready().active.id;
  }

  async rewrap(
    compact: string,
    purpose: EnvelopePurpose | undefined,
    tenants?: TenantRewrapKeys,
  ): Promise<{ envelope: string; keyId: string }> {
    const tag = tenants && tenantTagOfEnvelope(compact, purpose);
    // Opening checks that the envelope is the tenant's (the key id's tag) and keeps its AAD,
    // which binds a column value to its tenant: it moves within the tenant's keys only.
    const keys = tag === undefined ? undefined : await tenants!.of(tag);
    const parsed = await this.envelopes.reseal(compact, purpose, keys);
    return { envelope: formatCompactEnvelope(parsed), keyId: parsed.keyId };
  }

  tenantKeys(): TenantRewrapKeys | undefined {
    return this.keyring.ready().tenantRewrapKeys();
  }

  keysForRewrap(): RewrapKeys {
    const keyring = this.keyring.ready();
    const keys = [...keyring.list()].map((key) => {
      const material = new Uint8Array(key.material.length);
      material.set(key.material);
      return { id: key.id, material: material.buffer };
    });
    return { active: keyring.active.id, keys };
  }

  sealedElsewhere(keyId: string, count: number): void {
    const key = this.keyring.ready().get(keyId);
    if (key) for (let i = 0; i < count; i++) this.activity.sealed(key);
  }
}
