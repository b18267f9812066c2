import { encodeAad } from '../envelope/aad.js';
import { formatCompactEnvelope, parseEnvelope } from '../envelope/envelope-codec.js';
import type { AadInput, EnvelopePurpose, ParsedEnvelope } from '../envelope/envelope.interface.js';
import type { KeyringEnvelopes } from './keyring-envelopes.js';

/** Where KmsService keeps what sibling libraries reach through purposeEnvelopes(). */
export const PURPOSE_ENVELOPES = Symbol('nest-kms:purpose-envelopes');

/** A store's sealed value and the data key it is under. */
export interface SealedStoreValue {
  /** `kms2.<purpose>.…` */
  readonly envelope: string;
  readonly keyId: string;
}

/**
 * Envelopes of one nest-kms store (format v2, compact form): sealed and opened with the purpose
 * in the authenticated header, so they never open through `decryptData` and nothing made
 * through `encryptData` opens here, whatever AAD its caller chose. For nest-kms's own libraries.
 */
export interface PurposeEnvelopes {
  seal(plaintext: string, aad: AadInput): SealedStoreValue;
  /**
   * The plaintext of a value bound to exactly `aad`. A value in format v1 (written before
   * envelopes carried their purpose) opens only while the store still accepts that form.
   */
  open(envelope: string, aad: AadInput): Promise<string>;
  /**
   * A value in format v1 from a source the master key authenticates (a sealed backup), sealed
   * anew for this store after checking it is bound to exactly `aad`; a v2 value as it is.
   */
  adopt(envelope: string, aad: AadInput): Promise<SealedStoreValue>;
}

/** What a KmsService offers its sibling libraries for one store. */
export interface PurposeEnvelopesSource {
  [PURPOSE_ENVELOPES](purpose: EnvelopePurpose): PurposeEnvelopes;
}

/** The data key a store's value (format v1 or v2) is under; validates its shape. */
export function storeEnvelopeKeyId(envelope: string, purpose: EnvelopePurpose): string {
  return parseEnvelope(envelope, purpose).keyId;
}

/** The envelopes of one store, through `kms` (a KmsService). */
export function purposeEnvelopes(
  kms: PurposeEnvelopesSource,
  purpose: EnvelopePurpose,
): PurposeEnvelopes {
  return kms[PURPOSE_ENVELOPES](purpose);
}

/** The envelopes of one store, sealed and opened by the keyring's `envelopes`. */
export function keyringPurposeEnvelopes(
  envelopes: KeyringEnvelopes,
  purpose: EnvelopePurpose,
): PurposeEnvelopes {
  const sealed = (parsed: ParsedEnvelope): SealedStoreValue => ({
    envelope: formatCompactEnvelope(parsed),
    keyId: parsed.keyId,
  });
  return {
    seal: (plaintext, aad) => sealed(envelopes.seal(plaintext, { aad }, purpose)),
    open: async (envelope, aad) => {
      const plaintext = await envelopes.open(envelope, encodeAad(aad), purpose);
      const text = plaintext.toString('utf8');
      plaintext.fill(0);
      return text;
    },
    adopt: async (envelope, aad) =>
      sealed(await envelopes.adopt(envelope, encodeAad(aad), purpose)),
  };
}
