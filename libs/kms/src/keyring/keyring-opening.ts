import { KmsConfigurationError } from '../errors/kms-configuration.error.js';
import { MasterKeyMismatchError } from '../errors/master-key-mismatch.error.js';
import { MasterKeyUnavailableError } from '../errors/master-key-unavailable.error.js';
import { quotedInput } from '../errors/quoted-input.js';
import { newDataKey } from './data-key.js';
import type { MasterKeyProvider } from '../master-key/master-key-provider.interface.js';
import type { KeyringStore } from './keyring-store.interface.js';
import type { TenantMasterKeys } from './tenant-master-keys.js';
import {
  masterKeyOf,
  type MasterKey,
  type MasterKeyRotation,
  type MasterKeys,
} from './master-keys.js';

/** How a keyring is opened: the previous master key, the clock, and the ids of new data keys. */
export interface KeyringOptions {
  /** A master key this process also holds (KMS_MASTER_KEY_PREVIOUS): rows it wrapped still open. */
  readonly previous?: MasterKeyProvider;
  /**
   * Additional master keys: every data key is also wrapped under each, and unwrapping falls back
   * to them, in this order, when the primary cannot be reached.
   */
  readonly additional?: readonly MasterKeyProvider[];
  readonly now?: () => number;
  /** The id of a new data key; `creating` for the first key of a new keyring. */
  readonly newKeyId?: (creating: boolean) => string | undefined;
  /**
   * Throws when the keyring must not be written here (a replica region): opening then reads
   * only, and refuses what would write (creating the keyring, finishing a master-key rotation,
   * failing over, making the index root key); missing additional wraps are left to the primary.
   */
  readonly assertWritable?: (operation: string) => void;
  /** Tenants' own master keys (bring your own key); without it every tenant is under the keyring's. */
  readonly tenantMasterKeys?: TenantMasterKeys;
}

/** What opening the keyring found: whether this process created it, and a rotation it finished. */
export interface KeyringOpening {
  readonly created: boolean;
  readonly masterKeyRotation: MasterKeyRotation | null;
}

/**
 * Brings the stored keyring to where `masters` can load it: checks the stored master-key
 * fingerprint (a mismatch throws before anything is written), creates the keyring with its
 * first data key on the first start, finishes a master-key rotation when the stored
 * fingerprint is the previous key's, and fails over (promotes) when the configured key is one
 * of the keyring's additional master keys.
 */
export async function prepareKeyring(
  masters: MasterKeys,
  store: KeyringStore,
  now: () => number,
  newKeyId: (creating: boolean) => string | undefined,
  assertWritable: (operation: string) => void = () => undefined,
): Promise<KeyringOpening> {
  const { current, previous } = masters;
  const stored = await store.readFingerprint();
  if (stored === null) {
    assertWritable('creating the keyring');
    const first = await newDataKey(current.provider, current.fingerprint, now(), newKeyId(true));
    first.material.fill(0);
    const created = await store.createKeyring(current.fingerprint, first.stored);
    // Another process created the keyring between our read and our write: check its key.
    const winner = created ? current.fingerprint : await store.readFingerprint();
    if (winner !== current.fingerprint) {
      throw new MasterKeyMismatchError(winner ?? '(none)', current.fingerprint);
    }
    return { created, masterKeyRotation: null };
  }
  if (stored === current.fingerprint) return { created: false, masterKeyRotation: null };
  if (!previous || stored !== previous.fingerprint) {
    // Failover: the configured primary is one of the keyring's additional master keys.
    if ((await store.listAdditionalMasterKeys()).includes(current.fingerprint)) {
      assertWritable('failing over to another master key');
      // Only when the keyring's primary is no longer configured: replicas that disagree on which
      // key is primary would otherwise take the keyring from each other at every start.
      if (masters.additional.some((key) => key.fingerprint === stored)) {
        throw new KmsConfigurationError(
          `the keyring's primary master key is ${quotedInput(stored)}, configured here as an additional one: configure it as the master key (every replica must name the same primary), or remove it from the configuration to fail over to ${current.fingerprint}`,
        );
      }
      const promoted = await store.promote(stored, current.fingerprint);
      return {
        created: false,
        masterKeyRotation: { from: stored, to: current.fingerprint, rewrapped: promoted },
      };
    }
    throw new MasterKeyMismatchError(stored, current.fingerprint);
  }
  assertWritable('finishing a master-key rotation');
  const rewrapped = await masters.rewrapAll(previous, current);
  return {
    created: false,
    masterKeyRotation: { from: previous.fingerprint, to: current.fingerprint, rewrapped },
  };
}

/**
 * The primary master key with its fingerprint. When it cannot be reached at start-up but the
 * keyring exists and additional master keys are configured, the stored fingerprint stands in
 * for it (verified = false): the keyring can open with an additional key, and the primary is
 * checked against that fingerprint before anything is wrapped or unwrapped under it.
 */
export async function primaryMasterKey(
  provider: MasterKeyProvider,
  store: KeyringStore,
  options: KeyringOptions,
): Promise<{ current: MasterKey; verified: boolean }> {
  try {
    return { current: await masterKeyOf(provider), verified: true };
  } catch (error) {
    if (!(error instanceof MasterKeyUnavailableError) || !options.additional?.length) throw error;
    const stored = await store.readFingerprint();
    if (stored === null) throw error;
    return { current: { provider, fingerprint: stored }, verified: false };
  }
}
