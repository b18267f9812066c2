import { KeyringIntegrityError } from '../errors/keyring-integrity.error.js';
import { quotedInput } from '../errors/quoted-input.js';
import type { MasterKeyProvider } from '../master-key/master-key-provider.interface.js';
import { unwrapDataKey, type DataKey } from './data-key.js';
import { MasterKeyMismatchError } from '../errors/master-key-mismatch.error.js';
import { MasterKeyUnavailableError } from '../errors/master-key-unavailable.error.js';
import { GuardedMasterKey } from '../master-key/guarded-master-key.js';
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
    /**
     * False when the keyring opened while the primary could not be reached: its fingerprint is
     * then the stored one, checked against the provider before anything is wrapped or
     * unwrapped under it.
     */
    private currentVerified = true,
  ) {}

  private primaryCheck: ((primary: MasterKey) => Promise<void>) | undefined;

  /** How an unverified primary proves, beyond its name, that it is the keyring's key. */
  checkPrimaryWith(check: (primary: MasterKey) => Promise<void>): void {
    this.primaryCheck = check;
  }

  get current(): MasterKey {
    return this.currentKey;
  }

  /** Whether the primary has named itself (see currentVerified). */
  get primaryVerified(): boolean {
    return this.currentVerified;
  }

  /**
   * The current master key, once its provider has named itself with the fingerprint the
   * keyring stores and passed the primary check (it opens a wrap of its own):
   * MasterKeyMismatchError for another key, MasterKeyUnavailableError while it cannot be
   * reached. Use before wrapping under it.
   */
  async verifiedCurrent(): Promise<MasterKey> {
    if (!this.currentVerified) {
      const named = await this.currentKey.provider.fingerprint();
      if (named !== this.currentKey.fingerprint) {
        throw new MasterKeyMismatchError(this.currentKey.fingerprint, named);
      }
      await this.primaryCheck?.(this.currentKey);
      this.currentVerified = true;
    }
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
   * A master key already known to be unreachable is tried after them, not before, so an outage
   * costs each key load no timeouts. A wrap that does not verify is never passed over: that is
   * an alarm, not an outage.
   */
  async unwrap(row: StoredDataKey): Promise<DataKey> {
    const master = this.held(row.masterKeyFingerprint);
    if (!master || isUnreachable(master.provider)) {
      const opened = await this.unwrapByAdditional(row);
      if (opened) return opened;
      if (!master) {
        throw new KeyringIntegrityError(
          row.id,
          `it is wrapped under master key ${quotedInput(row.masterKeyFingerprint)}, which this process does not hold (restart it with the current KMS_MASTER_KEY; for a key of a tenant with its own master key, with tenantMasterKeys naming it)`,
        );
      }
      return this.unwrapWith(master, row);
    }
    try {
      return await this.unwrapWith(master, row);
    } catch (error) {
      if (!(error instanceof MasterKeyUnavailableError)) throw error;
      const opened = await this.unwrapByAdditional(row);
      if (opened) return opened;
      throw error;
    }
  }

  private async unwrapWith(master: MasterKey, row: StoredDataKey): Promise<DataKey> {
    if (master === this.currentKey) await this.verifiedCurrent();
    return unwrapDataKey(master.provider, row);
  }

  /**
   * `material` wrapped under each additional master key that answers. One that does not is
   * left out: its wrap is caught up later (AdditionalWraps.catchUp).
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

  /** `row` opened with one of its additional wraps; undefined when none could be (no store read without additional keys). */
  private async unwrapByAdditional(row: StoredDataKey): Promise<DataKey | undefined> {
    if (this.additional.length === 0) return undefined;
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
    return undefined;
  }

  /** `row` as the store keeps it: wrapped under the current master key (re-wrapped if need be). */
  async storedUnderCurrent(row: StoredDataKey, material: Buffer): Promise<StoredDataKey> {
    const { provider, fingerprint } = await this.verifiedCurrent();
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
    const from = await this.verifiedCurrent();
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

/** Whether the provider's last call failed transiently and nothing has answered since. */
function isUnreachable(provider: MasterKeyProvider): boolean {
  return provider instanceof GuardedMasterKey && provider.unreachableMs() > 0;
}
