import { aadEquals } from '../envelope/aad.js';
import { openEnvelope } from '../envelope/envelope-cipher.js';
import { parseEnvelope } from '../envelope/envelope-codec.js';
import type {
  EnvelopePurpose,
  EnvelopeV1,
  ParsedEnvelope,
} from '../envelope/envelope.interface.js';
import { AadMismatchError } from '../errors/aad-mismatch.error.js';
import { DataKeyNotInMemoryError } from '../errors/data-key-not-in-memory.error.js';
import { InvalidInputError } from '../errors/invalid-input.error.js';
import { KmsError } from '../errors/kms.error.js';
import { LegacyEnvelopeRefusedError } from '../errors/legacy-envelope-refused.error.js';
import { TenantMismatchError } from '../errors/tenant-mismatch.error.js';
import type { DataKey } from './data-key.js';
import type { KeySource } from './key-source.js';

/** What the service learns from each seal and each failed open. */
export interface EnvelopeEvents {
  /** One more envelope sealed under `key`. */
  sealed(key: DataKey): void;
  /** An open failed for a reason other than the caller's invalid input; `actor` as the caller said. */
  openFailed(code: string, keyId: string | undefined, actor: string | undefined): void;
}

/**
 * The long way to open an envelope, shared by single and batch opens: what the usual envelope's
 * fast path leaves (a fault to name, a key to fetch, a store's legacy value) is parsed and
 * checked here, and each failure is reported once, the same way whichever call met it.
 */
export class EnvelopeOpening {
  constructor(
    private readonly events: EnvelopeEvents,
    /** Whether a store still accepts its values in format v1 (written before purposes). */
    private readonly legacyAccepted: (purpose: EnvelopePurpose, keyId: string) => boolean,
  ) {}

  /**
   * Parses for `purpose`, refusing an envelope under another source's key; a store's value in
   * format v1 passes only while v1 is accepted.
   */
  parse(
    envelope: EnvelopeV1 | string,
    purpose: EnvelopePurpose | undefined,
    keys: KeySource,
  ): ParsedEnvelope {
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
  failed(error: unknown, keyId: string | undefined, actor?: string): unknown {
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
export function openBound(
  key: DataKey,
  parsed: ParsedEnvelope,
  expectedAad: Buffer | undefined,
): Buffer {
  const plaintext = openEnvelope(key.material, parsed);
  if (expectedAad !== undefined && !aadEquals(parsed.aad, expectedAad)) {
    plaintext.fill(0);
    throw new AadMismatchError();
  }
  return plaintext;
}
