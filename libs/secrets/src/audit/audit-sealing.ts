import { Logger } from '@nestjs/common';
import type { SchedulerRegistry } from '@nestjs/schedule';
import { LifecycleInterval } from '@nest-kms/kms/extension';
import { SECRETS_EVENTS } from '../secrets.messages.js';
import type { AuditChain } from './audit-chain.js';
import type { SecretsAudit } from './secrets-audit.js';

/** Name of the audit chain's sealing job in the SchedulerRegistry. */
export const AUDIT_SEALING_JOB = 'nest-kms.audit-sealing';

/**
 * Seals new audit records into the chain every `audit.sealIntervalMs`, on every replica of the
 * primary region (the head row's lock lets one at a time extend the chain; the others find
 * nothing left). Each extension logs the head (`secret_audit_sealed`, position and MAC): log
 * lines shipped elsewhere are an anchor a database writer cannot rewrite.
 */
export class AuditSealing {
  private readonly logger = new Logger('SecretsAudit');
  private readonly interval: LifecycleInterval;

  constructor(
    registry: SchedulerRegistry,
    private readonly chain: AuditChain,
    private readonly audit: SecretsAudit,
  ) {
    this.interval = new LifecycleInterval(registry, AUDIT_SEALING_JOB, async () => {
      await this.run();
    });
  }

  start(everyMs: number): void {
    this.interval.start(everyMs);
  }

  /** Writes this replica's buffered records, then seals what is there; returns how many. */
  async run(): Promise<number> {
    await this.audit.flush();
    const sealed = await this.chain.seal();
    if (sealed.records > 0) {
      this.logger.log({ event: SECRETS_EVENTS.auditSealed, ...sealed });
    }
    return sealed.records;
  }

  stop(): Promise<void> {
    return this.interval.stop();
  }
}
