import { Injectable } from '@nestjs/common';
import { encodeAad } from '../envelope/aad.js';
import { checkBatch, envelopeItem, plaintextItem } from '../envelope/batch-items.js';
import { formatCompactEnvelope, formatEnvelope } from '../envelope/envelope-codec.js';
import type { EnvelopeV1 } from '../envelope/envelope.interface.js';
import { checkDecryptOptions, checkEncryptManyOptions } from '../envelope/operation-options.js';
import type {
  BatchEnvelopeItem,
  BatchPlaintextItem,
  BatchResult,
  DecryptManyOptions,
  EncryptManyOptions,
} from '../interfaces/kms-batch.interface.js';
import { KeyringEnvelopes } from '../keyring/keyring-envelopes.js';
import { ActorBlocklist } from './actor-blocklist.js';
import { KmsKeyring } from './kms-keyring.js';
import { KmsTenants } from './kms-tenants.js';

/** KmsService's encryptMany and decryptMany: one result or typed error per item, in order. */
@Injectable()
export class KmsBatches {
  constructor(
    private readonly keyring: KmsKeyring,
    private readonly envelopes: KeyringEnvelopes,
    private readonly tenants: KmsTenants,
    private readonly blocklist: ActorBlocklist,
  ) {}

  async encryptMany(
    items: readonly BatchPlaintextItem[],
    options: EncryptManyOptions,
  ): Promise<BatchResult<EnvelopeV1 | string>[]> {
    this.keyring.ready();
    checkEncryptManyOptions(options);
    const batch = checkBatch(items, 'items');
    const aad = options.aad === undefined ? undefined : encodeAad(options.aad);
    const format = options.form === 'compact' ? formatCompactEnvelope : formatEnvelope;
    const keys = await this.tenants.sealing(options.tenant);
    return this.envelopes
      .sealMany(batch.length, (at) => plaintextItem(batch[at], aad), undefined, keys)
      .map((result) => (result.ok ? { ok: true, value: format(result.value) } : result));
  }

  async decryptMany(
    envelopes: readonly BatchEnvelopeItem[],
    options: DecryptManyOptions,
  ): Promise<BatchResult<string | Buffer>[]> {
    this.keyring.ready();
    checkDecryptOptions(options);
    const batch = checkBatch(envelopes, 'envelopes');
    this.blocklist.assertAllowed(options.actor);
    const aad = options.aad === undefined ? undefined : encodeAad(options.aad);
    const keys = await this.tenants.opening(options.tenant);
    const results = await this.envelopes.openMany(
      batch.length,
      (at) => envelopeItem(batch[at], aad),
      undefined,
      options.actor,
      keys,
    );
    if (options.as === 'buffer') return results;
    return results.map((result) => {
      if (!result.ok) return result;
      const text = result.value.toString('utf8');
      result.value.fill(0);
      return { ok: true, value: text };
    });
  }
}
