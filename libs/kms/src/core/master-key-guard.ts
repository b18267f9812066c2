import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import type { SchedulerRegistry } from '@nestjs/schedule';
import { MasterKeyProviderError } from '../errors/master-key-provider.error.js';
import type { NestKmsError } from '../errors/nest-kms.error.js';
import { KMS_RESOLVED_OPTIONS, KMS_SCHEDULER_REGISTRY } from '../kms.constants.js';
import { KMS_EVENTS } from '../kms.messages.js';
import type { ResolvedKmsOptions } from '../kms.options.js';
import {
  GuardedMasterKey,
  type MasterKeyCallObserver,
  type MasterKeyCallOutcome,
  type MasterKeyOperation,
} from '../master-key/guarded-master-key.js';
import type { MasterKeyProvider } from '../master-key/master-key-provider.interface.js';
import { KmsMetrics } from '../metrics/kms-metrics.js';
import { LifecycleInterval } from '../rotation/lifecycle-interval.js';

/** Name of the master-key probe in the SchedulerRegistry. */
export const KMS_MASTER_KEY_PROBE_JOB = 'kms-master-key-probe';

/** The id the probe's throwaway key is bound to: no stored data key can have it (no colon in those). */
const PROBE_KEY_ID = 'nest-kms:probe';

/**
 * Puts every master key this process uses behind one call policy (timeout, retries with
 * backoff), reports each attempt to the metrics and each failure and recovery to the log, and
 * probes the keys in use on an interval so an outage and its end show even when nothing needs a
 * key.
 */
@Injectable()
export class MasterKeyGuard implements MasterKeyCallObserver {
  private readonly logger = new Logger('KmsMasterKey');
  private readonly probe: LifecycleInterval;
  private probed: () => MasterKeyProvider[] = () => [];

  constructor(
    @Inject(KMS_RESOLVED_OPTIONS) private readonly options: ResolvedKmsOptions,
    @Inject(KMS_SCHEDULER_REGISTRY) registry: SchedulerRegistry,
    private readonly metrics: KmsMetrics,
  ) {
    metrics.observeMasterKeys(() =>
      this.probed()
        .filter((key) => key instanceof GuardedMasterKey)
        .map((key) => ({ provider: key.name, unreachableMs: key.unreachableMs() })),
    );
    this.probe = new LifecycleInterval(registry, KMS_MASTER_KEY_PROBE_JOB, () => this.probeNow());
  }

  /** `provider` behind the call policy (a provider already guarded is returned as is). */
  guard(provider: MasterKeyProvider): GuardedMasterKey {
    if (provider instanceof GuardedMasterKey) return provider;
    return new GuardedMasterKey(provider, this.options.masterKeyCalls, this);
  }

  /**
   * Watches the master keys `keys` returns (those in use): probes them on the configured
   * interval, from now until stopProbing, and reports how long each has been unreachable.
   */
  startProbing(keys: () => MasterKeyProvider[]): void {
    this.probed = keys;
    this.probe.start(this.options.masterKeyProbeIntervalMs);
  }

  async stopProbing(): Promise<void> {
    await this.probe.stop();
  }

  /** Wraps and unwraps a throwaway key under each master key in use. */
  async probeNow(): Promise<void> {
    for (const provider of this.probed()) {
      const key = randomBytes(32);
      let unwrapped: Buffer | undefined;
      try {
        unwrapped = await provider.unwrapDataKey(
          await provider.wrapDataKey(key, PROBE_KEY_ID),
          PROBE_KEY_ID,
        );
        if (!unwrapped.equals(key)) {
          throw new MasterKeyProviderError(provider.name, 'a probe unwrapped to another key');
        }
      } finally {
        key.fill(0);
        unwrapped?.fill(0);
      }
    }
  }

  attempted(
    provider: string,
    operation: MasterKeyOperation,
    outcome: MasterKeyCallOutcome,
    seconds: number,
  ): void {
    this.metrics.masterKeyCalls.inc({ provider, operation, outcome });
    this.metrics.masterKeyCallSeconds.observe({ provider, operation }, seconds);
  }

  failed(
    provider: string,
    operation: MasterKeyOperation,
    error: NestKmsError,
    attempt: number,
    retryInMs: number | undefined,
  ): void {
    this.logger.warn({
      event: KMS_EVENTS.masterKeyCallFailed,
      provider,
      operation,
      attempt,
      code: error.code,
      // Our own errors' messages carry no value (see NestKmsError).
      error: error.message,
      retryInMs: retryInMs ?? null,
    });
  }

  recovered(provider: string, unreachableMs: number): void {
    this.logger.log({ event: KMS_EVENTS.masterKeyRecovered, provider, unreachableMs });
  }
}
