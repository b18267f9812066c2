import { Injectable } from '@nestjs/common';
import { KmsNotInitializedError } from '../errors/kms-not-initialized.error.js';
import type { Keyring } from '../keyring/keyring.js';
import type { MasterKeyProvider } from '../master-key/master-key-provider.interface.js';
import { releaseProvider } from './master-key-sources.js';

/**
 * The application's open keyring, shared by every provider that seals, opens or manages keys.
 * Empty until KmsBootstrap has opened it (each use then refuses with KmsNotInitializedError)
 * and again after shutdown, when its keys are zeroed and its master-key providers released.
 */
@Injectable()
export class KmsKeyring {
  private keyring: Keyring | undefined;
  private previous: MasterKeyProvider | undefined;
  private additional: readonly MasterKeyProvider[] = [];

  /** The open keyring; KmsNotInitializedError before start-up. On the hot path: one check. */
  ready(): Keyring {
    if (this.keyring === undefined) throw new KmsNotInitializedError();
    return this.keyring;
  }

  /** The open keyring, or undefined (status and shutdown read it at any time). */
  get current(): Keyring | undefined {
    return this.keyring;
  }

  /** The master keys this process holds: the current one, then the previous one if configured. */
  masterKeys(): MasterKeyProvider[] {
    const current = this.ready().masterKey.provider;
    return this.previous ? [current, this.previous] : [current];
  }

  /** Every master key this process uses (current, previous, additional): what the probe checks. */
  probedMasterKeys(): MasterKeyProvider[] {
    return this.keyring ? [...this.masterKeys(), ...this.additional] : [];
  }

  /** Holds `keyring` from now on, with the previous and additional master keys it was opened with. */
  opened(
    keyring: Keyring,
    previous: MasterKeyProvider | undefined,
    additional: readonly MasterKeyProvider[] = [],
  ): void {
    this.keyring = keyring;
    this.previous = previous;
    this.additional = additional;
  }

  /** Zeroes every key in memory and releases every master-key provider. */
  close(): void {
    const keyring = this.keyring;
    const previous = this.previous;
    const additional = this.additional;
    this.keyring = undefined;
    this.previous = undefined;
    this.additional = [];
    const provider = keyring?.masterKey.provider;
    keyring?.destroy();
    releaseProvider(provider);
    releaseProvider(previous);
    for (const key of additional) releaseProvider(key);
  }
}
