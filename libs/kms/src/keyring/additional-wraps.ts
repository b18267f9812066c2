import { KeyringIntegrityError } from '../errors/keyring-integrity.error.js';
import { KmsConfigurationError } from '../errors/kms-configuration.error.js';
import { MasterKeyUnavailableError } from '../errors/master-key-unavailable.error.js';
import { quotedInput } from '../errors/quoted-input.js';
import type { MasterKeyProvider } from '../master-key/master-key-provider.interface.js';
import { unwrapsTo, type DataKey } from './data-key.js';
import type { AdditionalWrap, KeyringStore } from './keyring-store.interface.js';
import { masterKeyOf, type MasterKey, type MasterKeys } from './master-keys.js';

/**
 * The keyring's keys wrapped under its additional master keys: every data key and the
 * blind-index root key has one wrap per additional master key, so that any of them opens the
 * keyring when the primary cannot be reached (MasterKeys.unwrap falls back to them).
 */
export class AdditionalWraps {
  constructor(
    private readonly masters: MasterKeys,
    private readonly store: KeyringStore,
    /** The plain material of a key held in memory (a data key id or INDEX_ROOT_KEY_ID). */
    private readonly material: (keyId: string) => Buffer | undefined,
    /**
     * The plain material of a stored key not in memory (a tenant's not loaded here), unwrapped
     * for one wrap: the caller zeroes it. Undefined when there is no such key.
     */
    private readonly unwrapStored: (keyId: string) => Promise<Buffer | undefined>,
  ) {}

  /**
   * Wraps every key under each additional master key that lacks its wrap: all of them for a
   * master key just added, those made while one was unreachable. Keys not in memory (tenants'
   * not loaded here) are unwrapped from their rows, at most `storedKeysPerPass` per call: none
   * at start-up (a keyring of many tenants under a remote KMS would take minutes to start), a
   * bounded batch on each scheduled check until none is left. One store write per master key
   * per call; a master key that does not answer is tried on the next call. Returns the number
   * of wraps stored.
   */
  async catchUp(storedKeysPerPass = 0): Promise<number> {
    let stored = 0;
    let unwrapsLeft = storedKeysPerPass;
    for (const master of this.masters.additional) {
      const wraps: AdditionalWrap[] = [];
      for (const id of await this.store.keysWithoutWrap(master.fingerprint)) {
        const held = this.material(id);
        let material: Buffer | undefined;
        try {
          if (held === undefined && unwrapsLeft-- <= 0) continue;
          material = held ?? (await this.unwrapStored(id));
          if (!material) continue;
          const wrappedKey = await master.provider.wrapDataKey(material, id);
          wraps.push({ keyId: id, masterKeyFingerprint: master.fingerprint, wrappedKey });
        } catch (error) {
          if (!(error instanceof MasterKeyUnavailableError)) throw error;
          break;
        } finally {
          if (!held) material?.fill(0);
        }
      }
      await this.store.insertWraps(wraps);
      stored += wraps.length;
    }
    return stored;
  }

  /**
   * A new key's wraps under the additional master keys. Its rotation has committed: a wrap that
   * fails now is caught up later (catchUp, at each lifecycle check and start), and never fails
   * the rotation.
   */
  async wrapNew(key: DataKey): Promise<void> {
    if (this.masters.additional.length === 0) return;
    try {
      await this.store.insertWraps(await this.masters.additionalWraps(key.id, key.material));
    } catch {
      // catchUp stores what is missing.
    }
  }

  /**
   * Each additional master key that already has wraps must open them: one that does not is a
   * different key under a known name, refused naming it. One that cannot be reached is left
   * (unwrapping does not need it while the primary answers).
   */
  async check(active: DataKey): Promise<void> {
    const wraps = await this.store.findWraps(active.id);
    for (const master of this.masters.additional) {
      const wrap = wraps.find((candidate) => candidate.masterKeyFingerprint === master.fingerprint);
      if (!wrap) continue;
      let matches: boolean;
      try {
        matches = await unwrapsTo(master.provider, wrap.wrappedKey, active.id, active.material);
      } catch (error) {
        if (error instanceof MasterKeyUnavailableError) continue;
        throw error;
      }
      if (!matches) {
        throw new KeyringIntegrityError(
          active.id,
          `its wrap under the additional master key ${quotedInput(master.fingerprint)} does not open under the key configured with that fingerprint`,
        );
      }
    }
  }

  /** Fingerprints of the keyring's additional master keys, as stored (held or not). */
  list(): Promise<string[]> {
    return this.store.listAdditionalMasterKeys();
  }

  /** How many keys have no wrap under `fingerprint` yet. */
  async countMissing(fingerprint: string): Promise<number> {
    return (await this.store.keysWithoutWrap(fingerprint)).length;
  }

  /**
   * Removes an additional master key from the keyring: deletes its wraps. The primary master
   * key cannot be removed (rotate away from it). Returns the number of wraps deleted.
   */
  async remove(fingerprint: string): Promise<number> {
    if (fingerprint === this.masters.current.fingerprint) {
      throw new KmsConfigurationError(
        `master key ${quotedInput(fingerprint)} is the keyring's primary: rotate to another master key instead of removing it`,
      );
    }
    return this.store.deleteWraps(fingerprint);
  }
}

/**
 * The additional master keys with their fingerprints. One that does not answer now is left out
 * of this start (the keyring opens without it; its wraps catch up after a restart); one that is
 * the primary again, or listed twice, is a configuration error.
 */
export async function heldAdditionalMasterKeys(
  current: MasterKey,
  providers: readonly MasterKeyProvider[],
): Promise<MasterKey[]> {
  const keys: MasterKey[] = [];
  for (const provider of providers) {
    let key: MasterKey;
    try {
      key = await masterKeyOf(provider);
    } catch (error) {
      if (error instanceof MasterKeyUnavailableError) continue;
      throw error;
    }
    if (
      key.fingerprint === current.fingerprint ||
      keys.some((held) => held.fingerprint === key.fingerprint)
    ) {
      throw new KmsConfigurationError(
        `master key ${quotedInput(key.fingerprint)} is configured twice (as the primary or as an additional master key)`,
      );
    }
    keys.push(key);
  }
  return keys;
}
