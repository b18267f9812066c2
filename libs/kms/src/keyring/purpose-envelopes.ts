import { encodeAad } from '../envelope/aad.js';
import { formatCompactEnvelope, parseEnvelope } from '../envelope/envelope-codec.js';
import type { AadInput, EnvelopePurpose, ParsedEnvelope } from '../envelope/envelope.interface.js';
import type { KeySource } from './key-source.js';
import type { KeyringEnvelopes } from './keyring-envelopes.js';

/** Where KmsService keeps what sibling libraries reach through purposeEnvelopes(). */
export const PURPOSE_ENVELOPES = Symbol('nest-kms:purpose-envelopes');
/** Where KmsService keeps what sibling libraries reach through tenantPurposeEnvelopes(). */
export const TENANT_PURPOSE_ENVELOPES = Symbol('nest-kms:tenant-purpose-envelopes');

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
export interface PurposeEnvelopes extends PurposeSealer {
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

/** Seals a store's values under keys already in memory: no I/O, so it fits in a transaction. */
export interface PurposeSealer {
  /** The plaintext sealed for the store, bound to exactly `aad`, under the active key. */
  seal(plaintext: string, aad: AadInput): SealedStoreValue;
}

/**
 * A store's envelopes under one tenant's keys: a value sealed here opens only as that tenant's
 * (the tenant is in its key id), and never through the keyring's own keys or another tenant's.
 */
export interface TenantPurposeEnvelopes {
  /**
   * The tenant's keys loaded (its first key made, on its first seal): the sealer then seals
   * without I/O, so a store loads them before its transaction.
   */
  sealer(): Promise<PurposeSealer>;
  /**
   * The plaintext of a value of this tenant bound to exactly `aad`; the tenant's keys are
   * loaded, never made (a destroyed tenant's values: DataKeyNotFoundError).
   */
  open(envelope: string, aad: AadInput): Promise<string>;
  /**
   * As open, with until when (epoch ms) the plaintext may be kept in memory: until the tenant's
   * keys, unwrapped by its own master key, are due to be unwrapped again (a revocation by the
   * tenant takes hold then); Infinity for a tenant under the keyring's master key.
   */
  openKept(envelope: string, aad: AadInput): Promise<KeptPlaintext>;
}

/** A plaintext, and until when it may be kept in memory (epoch ms). */
export interface KeptPlaintext {
  readonly value: string;
  readonly keepUntil: number;
}

/** What a KmsService offers its sibling libraries for one store. */
export interface PurposeEnvelopesSource {
  [PURPOSE_ENVELOPES](purpose: EnvelopePurpose): PurposeEnvelopes;
  [TENANT_PURPOSE_ENVELOPES](purpose: EnvelopePurpose, tenant: string): TenantPurposeEnvelopes;
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

/** The envelopes of one store under `tenant`'s keys, through `kms` (a KmsService). */
export function tenantPurposeEnvelopes(
  kms: PurposeEnvelopesSource,
  purpose: EnvelopePurpose,
  tenant: string,
): TenantPurposeEnvelopes {
  return kms[TENANT_PURPOSE_ENVELOPES](purpose, tenant);
}

/** The keys a tenant's seal and open use (KmsTenants' sealing and opening). */
export interface TenantKeySources {
  sealing(): KeySource | Promise<KeySource>;
  opening(): KeySource | Promise<KeySource>;
}

/** The envelopes of one store under one tenant's keys, sealed and opened by `envelopes`. */
export function keyringTenantPurposeEnvelopes(
  envelopes: KeyringEnvelopes,
  purpose: EnvelopePurpose,
  keys: TenantKeySources,
): TenantPurposeEnvelopes {
  const openKept = async (envelope: string, aad: AadInput): Promise<KeptPlaintext> => {
    const source = await keys.opening();
    const opened = await envelopes.open(envelope, encodeAad(aad), purpose, undefined, source);
    return { value: textOf(opened), keepUntil: source.expiresAt ?? Infinity };
  };
  return {
    sealer: async () => {
      const source = await keys.sealing();
      return {
        seal: (plaintext, aad) => sealedValue(envelopes.seal(plaintext, { aad }, purpose, source)),
      };
    },
    open: async (envelope, aad) => (await openKept(envelope, aad)).value,
    openKept,
  };
}

/** The envelopes of one store, sealed and opened by the keyring's `envelopes`. */
export function keyringPurposeEnvelopes(
  envelopes: KeyringEnvelopes,
  purpose: EnvelopePurpose,
): PurposeEnvelopes {
  return {
    seal: (plaintext, aad) => sealedValue(envelopes.seal(plaintext, { aad }, purpose)),
    open: async (envelope, aad) => textOf(await envelopes.open(envelope, encodeAad(aad), purpose)),
    adopt: async (envelope, aad) =>
      sealedValue(await envelopes.adopt(envelope, encodeAad(aad), purpose)),
  };
}

/** A sealed envelope as a store keeps it. */
export const sealedValue = (parsed: ParsedEnvelope): SealedStoreValue => ({
  envelope: formatCompactEnvelope(parsed),
  keyId: parsed.keyId,
});

/** The plaintext as text, its bytes zeroed. */
function textOf(plaintext: Buffer): string {
  const text = plaintext.toString('utf8');
  plaintext.fill(0);
  return text;
}
