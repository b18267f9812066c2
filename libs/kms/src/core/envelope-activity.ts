import { Inject, Injectable, Logger } from '@nestjs/common';
import type { EnvelopeEvents } from '../keyring/keyring-envelopes.js';
import type { DataKey } from '../keyring/data-key.js';
import { KMS_RESOLVED_OPTIONS } from '../kms.constants.js';
import { KMS_EVENTS } from '../kms.messages.js';
import type { ResolvedKmsOptions } from '../kms.options.js';
import { KmsMetrics } from '../metrics/kms-metrics.js';
import { KmsSecurityEvents } from './kms-security-events.js';

/**
 * What each seal and each failed open leaves behind: the active key's usage count (every
 * `usageFlushEvery` envelopes, the listener — the rotation check — runs early) and the
 * decryption failures (a metric, a log line, the status count, a security event). Runs on the hot path: a
 * counter increment per seal, nothing more.
 */
@Injectable()
export class EnvelopeActivity implements EnvelopeEvents {
  private readonly logger = new Logger('KmsService');
  private usageBatchListener: (() => void) | undefined;
  /** Failed opens since start (not counting a caller's invalid input). */
  decryptionFailures = 0;

  constructor(
    @Inject(KMS_RESOLVED_OPTIONS) private readonly options: ResolvedKmsOptions,
    private readonly metrics: KmsMetrics,
    private readonly security: KmsSecurityEvents,
  ) {}

  /** Runs `listener` each time a batch of `usageFlushEvery` encryptions is reached. */
  onUsageBatch(listener: () => void): void {
    this.usageBatchListener = listener;
  }

  sealed(key: DataKey): void {
    if (++key.pendingEncryptions % this.options.usageFlushEvery === 0) {
      this.usageBatchListener?.();
    }
  }

  openFailed(code: string, keyId: string | undefined, actor: string | undefined): void {
    this.decryptionFailures++;
    this.metrics.decryptionErrors.inc({ code });
    this.logger.warn({ event: KMS_EVENTS.decryptionFailed, code, keyId, actor });
    this.security.publish({
      kind: 'decryption-failed',
      code,
      keyId: keyId ?? null,
      actor: actor ?? null,
    });
  }
}
