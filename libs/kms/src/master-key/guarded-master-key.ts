import { randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { DecryptionFailedError } from '../errors/decryption-failed.error.js';
import { MasterKeyProviderError } from '../errors/master-key-provider.error.js';
import { MasterKeyUnavailableError } from '../errors/master-key-unavailable.error.js';
import { NestKmsError } from '../errors/nest-kms.error.js';
import type { MasterKeyCallOptions, MasterKeyProvider } from './master-key-provider.interface.js';

/** How calls to a master-key provider are bounded and retried. */
export interface MasterKeyCallPolicy {
  /** Time one attempt may take before it is abandoned (its signal aborted). */
  readonly timeoutMs: number;
  /** Attempts per call, the first included: only transient failures are tried again. */
  readonly attempts: number;
  /** The first retry waits up to this long; each next one up to twice as long (full jitter). */
  readonly backoffMs: number;
  /** No retry waits longer than this. */
  readonly maxBackoffMs: number;
}

export const DEFAULT_MASTER_KEY_CALL_POLICY: MasterKeyCallPolicy = {
  timeoutMs: 10_000,
  attempts: 3,
  backoffMs: 200,
  maxBackoffMs: 5_000,
};

export type MasterKeyOperation = 'fingerprint' | 'wrap' | 'unwrap';

/**
 * How a provider call ended: `ok`; `unavailable` (transient, retried); `refused` (the provider
 * refused for good); `invalid` (a wrapped key that does not verify); `error` (anything else).
 */
export type MasterKeyCallOutcome = 'ok' | 'unavailable' | 'refused' | 'invalid' | 'error';

/** Where guarded calls report to: metrics and logs. */
export interface MasterKeyCallObserver {
  /** Every attempt, with how it ended and how long it took. */
  attempted(
    provider: string,
    operation: MasterKeyOperation,
    outcome: MasterKeyCallOutcome,
    seconds: number,
  ): void;
  /** An attempt failed; `retryInMs` is undefined when the call gives up. */
  failed(
    provider: string,
    operation: MasterKeyOperation,
    error: NestKmsError,
    attempt: number,
    retryInMs: number | undefined,
  ): void;
  /** The provider answered again after `unreachableMs` of transient failures. */
  recovered(provider: string, unreachableMs: number): void;
}

/**
 * A provider whose every call is bounded in time, retried with backoff and jitter while it
 * fails transiently, and reported to metrics and logs. Wraps any MasterKeyProvider, so a
 * provider implements only its protocol and the keyring sees one behaviour for all of them.
 * Errors a provider did not type become MasterKeyProviderError: nothing unknown (an SDK's
 * message could quote a request) reaches a caller or a log.
 */
export class GuardedMasterKey implements MasterKeyProvider {
  readonly name: string;
  readonly deriveKey?: (label: string) => Promise<Buffer>;
  private unreachableSince: number | undefined;
  private readonly closing = new AbortController();

  constructor(
    readonly inner: MasterKeyProvider,
    private readonly policy: MasterKeyCallPolicy,
    private readonly observer: MasterKeyCallObserver,
    private readonly now: () => number = Date.now,
  ) {
    this.name = typeof inner.name === 'string' && inner.name !== '' ? inner.name : 'custom';
    if (inner.deriveKey) this.deriveKey = (label) => inner.deriveKey!(label);
  }

  /** Milliseconds since the provider last failed transiently with no answer since; 0 when up. */
  unreachableMs(): number {
    return this.unreachableSince === undefined ? 0 : this.now() - this.unreachableSince;
  }

  fingerprint(options?: MasterKeyCallOptions): Promise<string> {
    return this.call('fingerprint', options, (call) => this.inner.fingerprint(call));
  }

  wrapDataKey(dataKey: Buffer, keyId: string, options?: MasterKeyCallOptions): Promise<Buffer> {
    return this.call('wrap', options, (call) => this.inner.wrapDataKey(dataKey, keyId, call));
  }

  unwrapDataKey(
    wrappedKey: Buffer,
    keyId: string,
    options?: MasterKeyCallOptions,
  ): Promise<Buffer> {
    return this.call('unwrap', options, (call) =>
      this.inner.unwrapDataKey(wrappedKey, keyId, call),
    );
  }

  /** Abandons calls in flight (their retries too), then releases the provider. */
  destroy(): void | Promise<void> {
    this.closing.abort(
      new MasterKeyUnavailableError(this.name, 'the application is shutting down'),
    );
    return this.inner.destroy?.();
  }

  private async call<T>(
    operation: MasterKeyOperation,
    options: MasterKeyCallOptions | undefined,
    work: (options: MasterKeyCallOptions) => Promise<T>,
  ): Promise<T> {
    const signals = [this.closing.signal, ...(options?.signal ? [options.signal] : [])];
    for (let attempt = 1; ; attempt++) {
      const began = performance.now();
      let error: NestKmsError;
      try {
        const result = await this.attempt(work, signals);
        this.observer.attempted(this.name, operation, 'ok', (performance.now() - began) / 1000);
        this.answered();
        return result;
      } catch (thrown) {
        error = this.typed(thrown);
      }
      const outcome = outcomeOf(error);
      this.observer.attempted(this.name, operation, outcome, (performance.now() - began) / 1000);
      if (outcome === 'unavailable') this.unreachableSince ??= this.now();
      else this.answered();
      const retry =
        outcome === 'unavailable' &&
        attempt < this.policy.attempts &&
        !signals.some((signal) => signal.aborted);
      const retryInMs = retry ? this.backoff(attempt) : undefined;
      this.observer.failed(this.name, operation, error, attempt, retryInMs);
      if (retryInMs === undefined) throw error;
      try {
        await sleep(retryInMs, undefined, { signal: AbortSignal.any(signals) });
      } catch {
        throw error;
      }
    }
  }

  /** One attempt, abandoned (its signal aborted) after timeoutMs or when a caller aborts. */
  private attempt<T>(
    work: (options: MasterKeyCallOptions) => Promise<T>,
    signals: AbortSignal[],
  ): Promise<T> {
    const timeout = new AbortController();
    const timer = setTimeout(
      () =>
        timeout.abort(
          new MasterKeyUnavailableError(this.name, `no answer within ${this.policy.timeoutMs} ms`),
        ),
      this.policy.timeoutMs,
    );
    const signal = AbortSignal.any([timeout.signal, ...signals]);
    return new Promise<T>((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      // A provider that ignores the signal still settles this promise late: `then` absorbs it.
      work({ signal }).then(resolve, reject);
    }).finally(() => clearTimeout(timer));
  }

  private typed(error: unknown): NestKmsError {
    if (error instanceof NestKmsError) return error;
    if (error instanceof Error && error.name === 'AbortError') {
      return new MasterKeyUnavailableError(this.name, 'the call was abandoned');
    }
    const name = error instanceof Error ? error.name : typeof error;
    return new MasterKeyProviderError(this.name, `unexpected ${name} from the provider`);
  }

  private answered(): void {
    if (this.unreachableSince === undefined) return;
    const unreachableMs = this.now() - this.unreachableSince;
    this.unreachableSince = undefined;
    this.observer.recovered(this.name, unreachableMs);
  }

  /** Full jitter (AWS architecture blog, "Exponential Backoff and Jitter"). */
  private backoff(attempt: number): number {
    const ceiling = Math.min(this.policy.maxBackoffMs, this.policy.backoffMs * 2 ** (attempt - 1));
    return randomInt(0, Math.max(1, Math.floor(ceiling)) + 1);
  }
}

/** The provider behind a guard, or `provider` itself. */
export function unguarded(provider: MasterKeyProvider): MasterKeyProvider {
  return provider instanceof GuardedMasterKey ? provider.inner : provider;
}

function outcomeOf(error: NestKmsError): MasterKeyCallOutcome {
  if (error instanceof MasterKeyUnavailableError) return 'unavailable';
  if (error instanceof MasterKeyProviderError) return 'refused';
  if (error instanceof DecryptionFailedError) return 'invalid';
  return 'error';
}
