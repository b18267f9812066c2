import {
  LocalMasterKeyProvider,
  MasterKeyProviderError,
  MasterKeyUnavailableError,
  type MasterKeyCallOptions,
  type MasterKeyProvider,
} from '@nest-kms/kms';

/**
 * What the next call does instead of answering: fail transiently, refuse, never answer (until
 * its signal aborts), or throw an error no provider should (an untyped one with a telling message).
 */
export type MasterKeyFault = 'unavailable' | 'refused' | 'hang' | 'untyped';

/** Text an untyped error carries: it must never reach a caller or a log. */
export const UNTYPED_ERROR_TEXT = 'provider-internal-detail-4f1c';

/**
 * A master-key provider that fails on cue, over a real local master key (two instances over the
 * same bytes are two replicas' view of one remote key). Counts every call that reached it.
 */
export class FaultyMasterKey implements MasterKeyProvider {
  readonly name = 'faulty';
  readonly calls = { fingerprint: 0, wrap: 0, unwrap: 0 };
  /** Calls abandoned by their signal while hanging. */
  abandoned = 0;
  /** While true, every call fails transiently, as a provider that is down. */
  down = false;
  /** Every call answers only after this long, as a slow provider. */
  latencyMs = 0;
  private readonly faults: MasterKeyFault[] = [];
  private readonly local: LocalMasterKeyProvider;

  /** `fingerprint` names it instead of its own (an impostor under a known name). */
  constructor(
    masterKey: Buffer,
    private readonly fixedFingerprint?: string,
  ) {
    this.local = new LocalMasterKeyProvider(masterKey);
  }

  /** The next calls fail with these faults, one each, in order. */
  failNext(...faults: MasterKeyFault[]): void {
    this.faults.push(...faults);
  }

  async fingerprint(options?: MasterKeyCallOptions): Promise<string> {
    this.calls.fingerprint++;
    await this.fault(options);
    return this.fixedFingerprint ?? `faulty:${await this.local.fingerprint()}`;
  }

  async wrapDataKey(dataKey: Buffer, keyId: string, options?: MasterKeyCallOptions) {
    this.calls.wrap++;
    await this.fault(options);
    return this.local.wrapDataKey(dataKey, keyId);
  }

  async unwrapDataKey(wrappedKey: Buffer, keyId: string, options?: MasterKeyCallOptions) {
    this.calls.unwrap++;
    await this.fault(options);
    return this.local.unwrapDataKey(wrappedKey, keyId);
  }

  /** Calls that reached the provider, all operations. */
  callCount(): number {
    return this.calls.fingerprint + this.calls.wrap + this.calls.unwrap;
  }

  destroy(): void {
    this.local.destroy();
  }

  private async fault(options: MasterKeyCallOptions | undefined): Promise<void> {
    if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
    if (this.down) throw new MasterKeyUnavailableError(this.name, 'connection refused');
    switch (this.faults.shift()) {
      case undefined:
        return;
      case 'unavailable':
        throw new MasterKeyUnavailableError(this.name, 'HTTP 503');
      case 'refused':
        throw new MasterKeyProviderError(this.name, 'access denied');
      case 'untyped':
        throw new Error(UNTYPED_ERROR_TEXT);
      case 'hang':
        return new Promise<void>((_resolve, reject) => {
          options?.signal?.addEventListener('abort', () => {
            this.abandoned++;
            reject(new Error('aborted'));
          });
        });
    }
  }
}
