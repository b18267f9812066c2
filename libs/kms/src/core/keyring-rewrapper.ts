import { Injectable } from '@nestjs/common';
import { formatCompactEnvelope } from '../envelope/envelope-codec.js';
import type { EnvelopePurpose } from '../envelope/envelope.interface.js';
import { KeyringEnvelopes } from '../keyring/keyring-envelopes.js';
import type { EnvelopeRewrapper } from '../reencryption/reencryption.job.js';
import { KmsKeyring } from './kms-keyring.js';

/** Re-encryption's access to the keyring: the active key, and one envelope moved under it. */
@Injectable()
export class KeyringRewrapper implements EnvelopeRewrapper {
  constructor(
    private readonly keyring: KmsKeyring,
    private readonly envelopes: KeyringEnvelopes,
  ) {}

  activeKeyId(): string {
    return this.keyring.ready().active.id;
  }

  async rewrap(
    compact: string,
    purpose: EnvelopePurpose | undefined,
  ): Promise<{ envelope: string; keyId: string }> {
    const parsed = await this.envelopes.reseal(compact, purpose);
    return { envelope: formatCompactEnvelope(parsed), keyId: parsed.keyId };
  }
}
