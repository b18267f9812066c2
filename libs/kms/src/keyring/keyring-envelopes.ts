import { aadEquals, encodeAad } from '../envelope/aad.js';
import { failedItem, type BatchItem } from '../envelope/batch-items.js';
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
import { InvalidInputError } from '../errors/invalid-input.error.js';
import { KmsError } from '../errors/kms.error.js';
import { LegacyEnvelopeRefusedError } from '../errors/legacy-envelope-refused.error.js';
import { TenantMismatchError } from '../errors/tenant-mismatch.error.js';
import type { BatchResult } from '../interfaces/kms-batch.interface.js';
import type { EncryptOptions } from '../interfaces/kms-operation-options.interface.js';
import type { DataKey } from './data-key.js';
import type { KeySource } from './key-source.js';
import type { Keyring } from './keyring.js';

/** What the service learns from each seal and each failed open. */
export interface EnvelopeEvents {
  /** One more envelope sealed under `key`. */
  sealed(key: DataKey): void;
  /** An open failed for a reason other than the caller's invalid input; `actor` as the caller said. */
  openFailed(code: string, keyId: string | undefined, actor: string | undefined): void;
}

/**
 * Seals and opens envelopes with the keyring's keys in memory: the hot path of KmsService and
 * of encrypted columns. No database call unless an envelope's key was made by another replica.
 * Each call uses the keyring's own keys, or one tenant's (`keys`): an envelope under a key of
 * the other kind, or of another tenant, is refused with TenantMismatchError.
 */
export class KeyringEnvelopes {
  constructor(
    private readonly keyring: () => Keyring,
    private readonly events: EnvelopeEvents,
    /** Whether a store still accepts its values in format v1 (written before purposes). */
    private readonly legacyAccepted: (purpose: EnvelopePurpose, keyId: string) => boolean,
  ) {}

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
      const parsed = this.parse(envelope, purpose, keys);
      keyId = parsed.keyId;
      const key = keys.get(keyId);
      if (key) return openBound(key, parsed, expectedAad);
      if (!fetch) throw new DataKeyNotInMemoryError(keyId);
      return keys.fetch(keyId).then(
        (fetched) => openBound(fetched, parsed, expectedAad),
        (error: unknown) => {
          throw this.openFailed(error, keyId, actor);
        },
      );
    } catch (error) {
      throw this.openFailed(error, keyId, actor);
    }
  }

  /**
   * Seals `count` items under the active key, each to its own AAD, in order; `itemAt` (which may
   * throw for its item) says what each is. One item's failure is that item's result.
   */
  sealMany(
    count: number,
    itemAt: (at: number) => BatchItem,
    purpose?: EnvelopePurpose,
    keys: KeySource = this.keyring(),
  ): BatchResult<ParsedEnvelope>[] {
    const results: BatchResult<ParsedEnvelope>[] = [];
    for (let at = 0; at < count; at++) {
      try {
        const { value, aad } = itemAt(at);
        const owned = typeof value === 'string';
        const bytes = plaintextBytes(value as string | Buffer);
        try {
          results[at] = { ok: true, value: this.sealBytes(bytes, aad, purpose, keys) };
        } finally {
          if (owned) bytes.fill(0);
        }
      } catch (error) {
        results[at] = failedItem(error);
      }
    }
    return results;
  }

  /**
   * Opens `count` envelopes, each checked against its own expected AAD, in order: those under
   * keys in memory at once, and each key not in memory fetched once for all the envelopes under
   * it (a promise only then). One envelope's failure is that envelope's result, reported with
   * `actor` as open() reports it.
   */
  openMany(
    count: number,
    itemAt: (at: number) => BatchItem,
    purpose?: EnvelopePurpose,
    actor?: string,
    keys: KeySource = this.keyring(),
  ): BatchResult<Buffer>[] | Promise<BatchResult<Buffer>[]> {
    const results: BatchResult<Buffer>[] = [];
    let unknownKeys: Map<string, [number, ParsedEnvelope, Buffer | undefined][]> | undefined;
    for (let at = 0; at < count; at++) {
      let keyId: string | undefined;
      try {
        const { value, aad } = itemAt(at);
        const opened = openUsualEnvelope(value, purpose, keys.materialOf, aad);
        if (opened !== undefined) {
          results[at] = { ok: true, value: opened };
          continue;
        }
        const parsed = this.parse(value as EnvelopeV1 | string, purpose, keys);
        keyId = parsed.keyId;
        const key = keys.get(keyId);
        if (key) {
          results[at] = { ok: true, value: openBound(key, parsed, aad) };
          continue;
        }
        unknownKeys ??= new Map();
        let waiting = unknownKeys.get(keyId);
        if (!waiting) unknownKeys.set(keyId, (waiting = []));
        waiting.push([at, parsed, aad]);
      } catch (error) {
        results[at] = failedItem(this.openFailed(error, keyId, actor));
      }
    }
    if (!unknownKeys) return results;
    const fetches = [...unknownKeys].map(([keyId, waiting]) =>
      keys.fetch(keyId).then(
        (key) => {
          for (const [at, parsed, aad] of waiting) {
            try {
              results[at] = { ok: true, value: openBound(key, parsed, aad) };
            } catch (error) {
              results[at] = failedItem(this.openFailed(error, keyId, actor));
            }
          }
        },
        (error: unknown) => {
          for (const [at] of waiting)
            results[at] = failedItem(this.openFailed(error, keyId, actor));
        },
      ),
    );
    return Promise.all(fetches).then(() => results);
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
    const parsed = this.parse(envelope, purpose, keys);
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

  /**
   * Parses for `purpose`, refusing an envelope under another source's key; a store's value in
   * format v1 passes only while v1 is accepted.
   */
  private parse(
    envelope: EnvelopeV1 | string,
    purpose: EnvelopePurpose | undefined,
    keys: KeySource,
  ) {
    const parsed = parseEnvelope(envelope, purpose);
    if (!keys.owns(parsed.keyId)) throw new TenantMismatchError(keys.forTenant);
    if (
      purpose !== undefined &&
      parsed.purpose === undefined &&
      !this.legacyAccepted(purpose, parsed.keyId)
    ) {
      throw new LegacyEnvelopeRefusedError(purpose);
    }
    return parsed;
  }

  /** Reports a failed open (not a caller's invalid input); returns the error to throw. */
  private openFailed(error: unknown, keyId: string | undefined, actor?: string): unknown {
    if (
      error instanceof KmsError &&
      !(error instanceof InvalidInputError) &&
      !(error instanceof DataKeyNotInMemoryError)
    ) {
      this.events.openFailed(error.code, keyId, actor);
    }
    return error;
  }
}

/** The plaintext of a parsed envelope under `key`, refused unless bound to exactly `expectedAad`. */
function openBound(key: DataKey, parsed: ParsedEnvelope, expectedAad: Buffer | undefined): Buffer {
  const plaintext = openEnvelope(key.material, parsed);
  if (expectedAad !== undefined && !aadEquals(parsed.aad, expectedAad)) {
    plaintext.fill(0);
    throw new AadMismatchError();
  }
  return plaintext;
}
