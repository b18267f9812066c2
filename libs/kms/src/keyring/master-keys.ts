import { KeyringIntegrityError } from '../errors/keyring-integrity.error.js';
import { quotedInput } from '../errors/quoted-input.js';
import type { MasterKeyProvider } from '../master-key/master-key-provider.interface.js';
import { unwrapDataKey, type DataKey } from './data-key.js';
import { MasterKeyUnavailableError } from '../errors/master-key-unavailable.error.js';
import type { AdditionalWrap, KeyringStore, StoredDataKey } from './keyring-store.interface.js';

/** A master key and its fingerprint. */
export interface MasterKey {
  readonly provider: MasterKeyProvider;
  readonly fingerprint: string;
}

/** The master key the keyring moved from and to, when it finished a master-key rotation. */
export interface MasterKeyRotation {
  readonly from: string;
  readonly to: string;
  /** Data keys re-wrapped by this process; null when another process had done it. */
  readonly rewrapped: number | null;
}

/** A provider with its fingerprint read once: fingerprints may cost a call to a remote KMS. */
export async function masterKeyOf(provider: MasterKeyProvider): Promise<MasterKey> {
  return { provider, fingerprint: await provider.fingerprint() };
}

/**
 * The master keys a keyring holds: the one data keys are wrapped under from now on, and the one
 * it is moving away from (KMS_MASTER_KEY_PREVIOUS), under which stored rows still unwrap.
 */
export class MasterKeys {
  constructor(
    private currentKey: MasterKey,
    readonly previous: MasterKey | undefined,
    private readonly store: KeyringStore,
    /**
     * The keyring's additional master keys this process holds, in the order unwrapping tries
     * them when the primary cannot be reached.
     */
    readonly additional: readonly MasterKey[] = [],
  ) {}

  get current(): MasterKey {
    return this.currentKey;
  }

  /** The master key with this fingerprint, if this process holds it (current or previous). */
  held(fingerprint: unknown): MasterKey | undefined {
    if (fingerprint === this.currentKey.fingerprint) return this.currentKey;
    if (this.previous && fingerprint === this.previous.fingerprint) return this.previous;
    return undefined;
  }

  /**
   * Unwraps a stored key with the held master key that wrapped it; when that one cannot be
   * reached (or is not held), with its wraps under the additional master keys, in their order.
   * A wrap that does not verify is never passed over: that is an alarm, not an outage.
   */
  async unwrap(row: StoredDataKey): Promise<DataKey> {
    const master = this.held(row.masterKeyFingerprint);
    if (!master) {
      const notHeld = new KeyringIntegrityError(
        row.id,
        `it is wrapped under master key ${quotedInput(row.masterKeyFingerprint)}, which this process does not hold (restart it with the current KMS_MASTER_KEY)`,
      );
      if (this.additional.length === 0) throw notHeld;
      return this.unwrapByAdditional(row, notHeld);
    }
    try {
      return await unwrapDataKey(master.provider, row);
    } catch (error) {
      if (!(error instanceof MasterKeyUnavailableError) || this.additional.length === 0)
        throw error;
      return this.unwrapByAdditional(row, error);
    }
  }

  /**
   * `material` wrapped under each additional master key that answers. One that does not is
   * left out: its wrap is caught up later (see Keyring.catchUpWraps).
   */
  async additionalWraps(keyId: string, material: Buffer): Promise<AdditionalWrap[]> {
    const wraps: AdditionalWrap[] = [];
    for (const { provider, fingerprint } of this.additional) {
      try {
        const wrappedKey = await provider.wrapDataKey(material, keyId);
        wraps.push({ keyId, masterKeyFingerprint: fingerprint, wrappedKey });
      } catch (error) {
        if (!(error instanceof MasterKeyUnavailableError)) throw error;
      }
    }
    return wraps;
  }

  private async unwrapByAdditional(row: StoredDataKey, cause: Error): Promise<DataKey> {
    const wraps = await this.store.findWraps(row.id);
    for (const master of this.additional) {
      const wrap = wraps.find((candidate) => candidate.masterKeyFingerprint === master.fingerprint);
      if (!wrap) continue;
      try {
        return await unwrapDataKey(master.provider, {
          ...row,
          wrappedKey: wrap.wrappedKey,
          masterKeyFingerprint: master.fingerprint,
        });
      } catch (error) {
        if (!(error instanceof MasterKeyUnavailableError)) throw error;
      }
    }
    throw cause;
  }

  /** `row` as the store keeps it: wrapped under the current master key (re-wrapped if need be). */
  async storedUnderCurrent(row: StoredDataKey, material: Buffer): Promise<StoredDataKey> {
    const { provider, fingerprint } = this.currentKey;
    if (row.masterKeyFingerprint === fingerprint) return row;
    const wrappedKey = await provider.wrapDataKey(material, row.id);
    return { ...row, wrappedKey, masterKeyFingerprint: fingerprint };
  }

  /**
   * Re-wraps every stored data key under `next` in one transaction, then uses `next` from now
   * on. The caller releases the old provider.
   */
  async rotate(next: MasterKeyProvider): Promise<MasterKeyRotation> {
    const target = await masterKeyOf(next);
    const from = this.currentKey;
    const rewrapped = await this.rewrapAll(from, target);
    this.currentKey = target;
    return { from: from.fingerprint, to: target.fingerprint, rewrapped };
  }

  /**
   * Every stored data key from `from` to `to`, in one transaction; null when another process
   * had already done it. Each plain key lives only for its own re-wrap.
   */
  rewrapAll(from: MasterKey, to: MasterKey): Promise<number | null> {
    return this.store.rewrapAll(from.fingerprint, to.fingerprint, async (row) => {
      const key = await unwrapDataKey(from.provider, row);
      try {
        return await to.provider.wrapDataKey(key.material, row.id);
      } finally {
        key.material.fill(0);
      }
    });
  }
}
