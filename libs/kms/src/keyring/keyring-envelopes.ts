import { aadEquals, encodeAad } from '../envelope/aad.js';
import type { BatchItem } from '../envelope/batch-items.js';
import { openEnvelope, sealEnvelope } from '../envelope/envelope-cipher.js';
import { parseEnvelope } from '../envelope/envelope-codec.js';
import type {
  EnvelopePurpose,
  EnvelopeV1,
  ParsedEnvelope,
} from '../envelope/envelope.interface.js';
import { plaintextBytes } from '../envelope/plaintext-bytes.js';
import { openUsualEnvelope } from '../envelope/usual-envelope.js';
import { AadMismatchError } from '../errors/aad-mismatch.error.js';
import { DataKeyNotInMemoryError } from '../errors/data-key-not-in-memory.error.js';
import { TenantMismatchError } from '../errors/tenant-mismatch.error.js';
import type { BatchResult } from '../interfaces/kms-batch.interface.js';
import type { EncryptOptions } from '../interfaces/kms-operation-options.interface.js';
import { EnvelopeBatches } from './envelope-batches.js';
import { EnvelopeOpening, openBound, type EnvelopeEvents } from './envelope-opening.js';
import type { KeySource } from './key-source.js';
import type { Keyring } from './keyring.js';

export type { EnvelopeEvents } from './envelope-opening.js';

/**
 * Seals and opens envelopes with the keyring's keys in memory: the hot path of KmsService and
 * of encrypted columns. No database call unless an envelope's key was made by another replica.
 * Each call uses the keyring's own keys, or one tenant's (`keys`): an envelope under a key of
 * the other kind, or of another tenant, is refused with TenantMismatchError.
 */
export class KeyringEnvelopes {
  private readonly opening: EnvelopeOpening;
  private readonly batches: EnvelopeBatches;

  constructor(
    private readonly keyring: () => Keyring,
    private readonly events: EnvelopeEvents,
    /** Whether a store still accepts its values in format v1 (written before purposes). */
    legacyAccepted: (purpose: EnvelopePurpose, keyId: string) => boolean,
  ) {
    this.opening = new EnvelopeOpening(events, legacyAccepted);
    this.batches = new EnvelopeBatches(this.opening, (bytes, aad, purpose, keys) =>
      this.sealBytes(bytes, aad, purpose, keys),
    );
  }

  /**
   * A caller's plaintext (string or Buffer) under the active key, bound to its AAD, for
   * `purpose` (undefined: the public API's format v1).
   */
  seal(
    plaintext: string | Buffer,
    options: EncryptOptions,
    purpose?: EnvelopePurpose,
    keys: KeySource = this.keyring(),
  ): ParsedEnvelope {
    const aad = options.aad === undefined ? undefined : encodeAad(options.aad);
    const owned = typeof plaintext === 'string';
    const bytes = plaintextBytes(plaintext);
    try {
      return this.sealBytes(bytes, aad, purpose, keys);
    } finally {
      if (owned) bytes.fill(0);
    }
  }

  sealBytes(
    bytes: Buffer,
    aad: Buffer | undefined,
    purpose: EnvelopePurpose | undefined,
    keys: KeySource = this.keyring(),
  ): ParsedEnvelope {
    const key = keys.active;
    const sealed = sealEnvelope(key.material, key.id, bytes, aad, Date.now(), purpose);
    this.events.sealed(key);
    return sealed;
  }

  /**
   * The plaintext of an envelope sealed for `purpose` (undefined: the public API); bound to
   * exactly `expectedAad` when given. Synchronous while its key is in memory; a key not in
   * memory is fetched first. A failure is reported with `actor`, who asked.
   */
  open(
    envelope: EnvelopeV1 | string,
    expectedAad?: Buffer,
    purpose?: EnvelopePurpose,
    actor?: string,
    keys: KeySource = this.keyring(),
  ): Buffer | Promise<Buffer> {
    return this.openWith(envelope, expectedAad, purpose, actor, true, keys);
  }

  /** As open, with keys in memory only: DataKeyNotInMemoryError where open would fetch one. */
  openInMemory(
    envelope: EnvelopeV1 | string,
    expectedAad: Buffer | undefined,
    actor: string | undefined,
    keys: KeySource = this.keyring(),
  ): Buffer {
    return this.openWith(envelope, expectedAad, undefined, actor, false, keys) as Buffer;
  }

  private openWith(
    envelope: EnvelopeV1 | string,
    expectedAad: Buffer | undefined,
    purpose: EnvelopePurpose | undefined,
    actor: string | undefined,
    fetch: boolean,
    keys: KeySource,
  ): Buffer | Promise<Buffer> {
    const opened = openUsualEnvelope(envelope, purpose, keys.materialOf, expectedAad);
    if (opened !== undefined) return opened;
    // Anything else (a fault to name, a key to fetch, a store's legacy value) the long way.
    let keyId: string | undefined;
    try {
      const parsed = this.opening.parse(envelope, purpose, keys);
      keyId = parsed.keyId;
      const key = keys.get(keyId);
      if (key) return openBound(key, parsed, expectedAad);
      if (!fetch) throw new DataKeyNotInMemoryError(keyId);
      return keys.fetch(keyId).then(
        (fetched) => openBound(fetched, parsed, expectedAad),
        (error: unknown) => {
          throw this.opening.failed(error, keyId, actor);
        },
      );
    } catch (error) {
      throw this.opening.failed(error, keyId, actor);
    }
  }

  /** One result per item, in order: EnvelopeBatches.sealMany. */
  sealMany(
    count: number,
    itemAt: (at: number) => BatchItem,
    purpose?: EnvelopePurpose,
    keys: KeySource = this.keyring(),
  ): BatchResult<ParsedEnvelope>[] {
    return this.batches.sealMany(count, itemAt, purpose, keys);
  }

  /** One result per envelope, in order, each key fetched once: EnvelopeBatches.openMany. */
  openMany(
    count: number,
    itemAt: (at: number) => BatchItem,
    purpose?: EnvelopePurpose,
    actor?: string,
    keys: KeySource = this.keyring(),
  ): BatchResult<Buffer>[] | Promise<BatchResult<Buffer>[]> {
    return this.batches.openMany(count, itemAt, purpose, actor, keys);
  }

  /**
   * Opens an envelope sealed for `purpose` and seals its plaintext, with the same AAD, under the
   * active key for that purpose: a stored value in format v1 moves to v2 while v1 is accepted.
   */
  async reseal(
    envelope: EnvelopeV1 | string,
    purpose?: EnvelopePurpose,
    keys: KeySource = this.keyring(),
  ): Promise<ParsedEnvelope> {
    const parsed = this.opening.parse(envelope, purpose, keys);
    const key = keys.get(parsed.keyId) ?? (await keys.fetch(parsed.keyId));
    const plaintext = openEnvelope(key.material, parsed);
    try {
      return this.sealBytes(plaintext, parsed.aad, purpose, keys);
    } finally {
      plaintext.fill(0);
    }
  }

  /**
   * A store's value from a source the master key authenticates: a v1 value is opened whatever
   * the store accepts, checked to be bound to exactly `expectedAad`, and sealed for `purpose`;
   * a v2 value is returned as parsed.
   */
  async adopt(
    envelope: string,
    expectedAad: Buffer,
    purpose: EnvelopePurpose,
  ): Promise<ParsedEnvelope> {
    const keyring = this.keyring();
    const parsed = parseEnvelope(envelope, purpose);
    if (parsed.purpose !== undefined) return parsed;
    if (!keyring.owns(parsed.keyId)) throw new TenantMismatchError(false);
    const key = keyring.get(parsed.keyId) ?? (await keyring.fetch(parsed.keyId));
    const plaintext = openEnvelope(key.material, parsed);
    try {
      if (!aadEquals(parsed.aad, expectedAad)) throw new AadMismatchError();
      return this.sealBytes(plaintext, parsed.aad, purpose);
    } finally {
      plaintext.fill(0);
    }
  }
}
