import { KmsConfigurationError } from '../errors/kms-configuration.error.js';
import { MasterKeyUnavailableError } from '../errors/master-key-unavailable.error.js';
import { NestKmsError } from '../errors/nest-kms.error.js';
import { quotedInput } from '../errors/quoted-input.js';
import type { KmsTenantMasterKeyOptions } from '../interfaces/kms-module-options.interface.js';
import type { MasterKeyProvider } from '../master-key/master-key-provider.interface.js';
import { KEYRING_MASTER_KEY } from './keyring-master-key.js';
import { masterKeyOf, type MasterKey } from './master-keys.js';

/** The master keys of one tenant: see TenantMasterKeys.of. */
export interface TenantMasterKeyChoice {
  readonly own: readonly MasterKey[] | undefined;
  readonly leaving: readonly MasterKey[];
}

/**
 * Tenants' own master keys (bring your own key): which master key wraps a tenant's data keys
 * when it is not the keyring's, asked of the application per tenant, and how long keys it
 * unwrapped may stay in memory.
 */
export class TenantMasterKeys {
  /** One guard per provider the application hands out, so its reachability is tracked across loads. */
  private readonly guarded = new WeakMap<MasterKeyProvider, MasterKeyProvider>();

  constructor(
    private readonly options: Required<KmsTenantMasterKeyOptions>,
    /** Puts a provider behind the call policy (timeouts, retries, metrics). */
    private readonly guard: (provider: MasterKeyProvider) => MasterKeyProvider,
    /** False in a replica region: keys under the keyring's master key are not moved there. */
    readonly writable: boolean,
    /** Told when a tenant's keys were re-wrapped under its own (current) master key. */
    readonly rewrapped: (keyIds: readonly string[], fingerprint: string) => void,
  ) {}

  get recheckAfterMs(): number {
    return this.options.recheckAfterMs;
  }

  /**
   * Which master keys wrap the tenant's data keys: its own, its current one first (`own`), or
   * none (under the keyring's), with `leaving` its own keys it moves away from back to the
   * keyring's (KEYRING_MASTER_KEY first in the answer). Refused: an answer that is not a
   * provider, and the keyring's own master key named as a tenant's (its keys would then pass
   * for the keyring's, wrapped under the keyring's additional master keys). An exception from
   * providerFor (the application's own lookup failing) is MasterKeyUnavailableError: that
   * tenant's call fails, retryable, and the next one asks again; its message is not repeated,
   * since it is the application's text.
   */
  async of(tenant: string, keyringFingerprint: string): Promise<TenantMasterKeyChoice> {
    const answer = await this.ask(tenant);
    if (answer === undefined) return { own: undefined, leaving: [] };
    const listed: readonly unknown[] = Array.isArray(answer) ? answer : [answer];
    const backToKeyring = listed[0] === KEYRING_MASTER_KEY;
    const providers = backToKeyring ? listed.slice(1) : listed;
    if ((!backToKeyring && providers.length === 0) || !providers.every(isProvider)) {
      throw new KmsConfigurationError(
        `tenantMasterKeys.providerFor(${quotedInput(tenant)}) must answer a MasterKeyProvider, a non-empty list of them (KEYRING_MASTER_KEY allowed first only), or undefined`,
      );
    }
    const keys = await Promise.all(
      providers.map((provider) => masterKeyOf(this.guardOnce(provider))),
    );
    for (const key of keys) {
      if (key.fingerprint === keyringFingerprint) {
        throw new KmsConfigurationError(
          `tenantMasterKeys.providerFor(${quotedInput(tenant)}) named the keyring's own master key ${quotedInput(key.fingerprint)}: answer undefined for a tenant under the keyring's master key`,
        );
      }
    }
    return backToKeyring ? { own: undefined, leaving: keys } : { own: keys, leaving: [] };
  }

  private async ask(
    tenant: string,
  ): Promise<Awaited<ReturnType<KmsTenantMasterKeyOptions['providerFor']>>> {
    try {
      return await this.options.providerFor(tenant);
    } catch (error) {
      if (error instanceof NestKmsError) throw error;
      const name = error instanceof Error ? error.name : typeof error;
      throw new MasterKeyUnavailableError(
        'tenantMasterKeys.providerFor',
        `${name} thrown for tenant ${quotedInput(tenant)}`,
      );
    }
  }

  private guardOnce(provider: MasterKeyProvider): MasterKeyProvider {
    let guarded = this.guarded.get(provider);
    if (guarded === undefined) {
      guarded = this.guard(provider);
      this.guarded.set(provider, guarded);
    }
    return guarded;
  }
}

function isProvider(value: unknown): value is MasterKeyProvider {
  const candidate = value as Partial<MasterKeyProvider> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.fingerprint === 'function' &&
    typeof candidate.wrapDataKey === 'function' &&
    typeof candidate.unwrapDataKey === 'function'
  );
}
