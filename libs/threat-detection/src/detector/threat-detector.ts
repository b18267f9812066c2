import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Logger } from '@nestjs/common';
import type { EventEmitter2 } from '@nestjs/event-emitter';
import type { SecretsAuditTrail, SecretsService } from '@nest-kms/secrets';
import type { ThreatDetection } from '../interfaces/threat-detection.interface.js';
import type { ActorBlocks } from '../response/actor-blocks.js';
import { THREAT_SEVERITIES } from '../rules/threat-finding.interface.js';
import { ThreatRules } from '../rules/threat-rules.js';
import { THREAT_DETECTED_EVENT, THREAT_EVENTS } from '../threat-detection.messages.js';
import type { ResolvedThreatDetectionOptions } from '../threat-detection.options.js';
import type { ThreatMetrics } from '../threat-metrics.js';
import type { DetectionStore, Finding } from './detection-store.js';
import { DetectorLease } from './detector-lease.js';

/** Records read per query, and queries per pass (a detector catching up reads on next pass). */
const READ_BATCH = 1_000;
const MAX_BATCHES_PER_PASS = 20;
/** How long the set of sensitive secrets is reused before it is listed again. */
const SENSITIVE_REFRESH_MS = 60_000;

/** What a pass did. */
export interface DetectorPass {
  /** Whether this replica held the lease and read the trail. */
  readonly leading: boolean;
  readonly recordsRead: number;
  /** Detections recorded by this pass (announced: logged, counted, published). */
  readonly detections: readonly ThreatDetection[];
}

/**
 * The detector: on every replica, each pass refreshes the blocked actors; the replica holding
 * the lease also reads the audit trail on from where it stopped, feeds each record to the rules,
 * and records and announces what they find. The trail is shared (every replica's records are in
 * it), so reads spread over replicas are counted together; one reader means each detection is
 * announced once.
 */
export class ThreatDetector {
  private readonly logger = new Logger('ThreatDetection');
  private readonly lease: DetectorLease;
  private rules: ThreatRules | undefined;
  private position = 0;
  private savedAt = 0;
  private verifiedAt: number;
  private sensitive: { names: ReadonlySet<string>; at: number } | undefined;

  constructor(
    private readonly options: ResolvedThreatDetectionOptions,
    storage: ConstructorParameters<typeof DetectorLease>[0],
    private readonly trail: SecretsAuditTrail,
    private readonly secrets: SecretsService,
    private readonly store: DetectionStore,
    private readonly blocks: ActorBlocks,
    private readonly metrics: ThreatMetrics,
    private readonly events: EventEmitter2 | undefined,
  ) {
    this.lease = new DetectorLease(
      storage,
      `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
    );
    this.verifiedAt = options.clock();
  }

  /** One pass: what the timer runs, and ThreatsService.runDetection(). */
  async pass(): Promise<DetectorPass> {
    const now = this.options.clock();
    await this.blocks.refresh(now);
    if (!(await this.lease.hold(now, this.options.leaseMs))) {
      // Another replica reads the trail; if this one did before, its state is stale now.
      this.rules = undefined;
      return { leading: false, recordsRead: 0, detections: [] };
    }
    if (this.rules === undefined) await this.takeOver();
    const findings: Finding[] = [];
    let recordsRead = 0;
    for (let batch = 0; batch < MAX_BATCHES_PER_PASS; batch++) {
      const records = await this.trail.read(this.position, READ_BATCH);
      if (records.length === 0) break;
      const sensitive = await this.sensitiveNames(now);
      for (const record of records) {
        const facts = {
          sensitive: record.secretName !== null && sensitive.has(record.secretName),
        };
        findings.push(...this.rules!.observe(record, facts));
        this.position = record.seq;
      }
      recordsRead += records.length;
      if (records.length < READ_BATCH) break;
    }
    if (
      this.options.verifyIntervalMs > 0 &&
      now - this.verifiedAt >= this.options.verifyIntervalMs
    ) {
      this.verifiedAt = now;
      findings.push(...(await this.verifyTrail()));
    }
    const detections = await this.store.record(findings, now);
    for (const detection of detections) await this.announce(detection, now);
    if (now - this.savedAt >= this.options.snapshotIntervalMs) await this.save(now);
    return { leading: true, recordsRead, detections };
  }

  /** Verifies the trail's chain now; a break is a detection (recorded and announced once). */
  async verifyTrail(): Promise<Finding[]> {
    const verification = await this.trail.verify();
    return verification.problems.map((problem) => ({
      rule: 'audit-chain-broken',
      severity: 'critical',
      actor: null,
      subject: 'audit-trail',
      firstAt: this.options.clock(),
      detectedAt: this.options.clock(),
      seq: problem.fromSeq,
      counts: {
        [problem.kind]: problem.toSeq - problem.fromSeq + 1,
        fromSeq: problem.fromSeq,
        toSeq: problem.toSeq,
        problems: verification.problemCount,
      },
    }));
  }

  /** At shutdown: the state saved and the lease released, so another replica goes on at once. */
  async stop(): Promise<void> {
    if (this.rules === undefined) return;
    await this.save(this.options.clock());
    await this.lease.release();
    this.rules = undefined;
  }

  private async takeOver(): Promise<void> {
    const saved = await this.lease.load();
    this.position = saved.seq;
    try {
      this.rules = new ThreatRules(this.options.rules, saved.snapshot);
    } catch (error) {
      // A saved state this version cannot use (another version's, or altered in the database)
      // must not stop detection: the rules start afresh from there, learning again, loudly.
      this.rules = new ThreatRules(this.options.rules);
      this.logger.error({
        event: THREAT_EVENTS.detectorStateRefused,
        fromSeq: saved.seq,
        code: (error as { code?: unknown } | null)?.code ?? null,
      });
    }
    this.logger.log({ event: THREAT_EVENTS.detectorTookOver, fromSeq: saved.seq });
  }

  private async save(now: number): Promise<void> {
    await this.lease.save(this.rules!.snapshot(), this.position, now);
    this.savedAt = now;
  }

  /** Secrets tagged sensitive (any value but `false`), listed again every minute. */
  private async sensitiveNames(now: number): Promise<ReadonlySet<string>> {
    if (this.sensitive === undefined || now - this.sensitive.at >= SENSITIVE_REFRESH_MS) {
      const tag = this.options.sensitiveTag;
      const tagged = await this.secrets.listSecrets({ tag });
      const names = new Set(
        tagged.filter((secret) => secret.tags[tag] !== 'false').map((secret) => secret.name),
      );
      this.sensitive = { names, at: now };
    }
    return this.sensitive.names;
  }

  private async announce(detection: ThreatDetection, now: number): Promise<void> {
    this.metrics.detections.inc({ rule: detection.rule, severity: detection.severity });
    this.logger.warn({
      event: THREAT_EVENTS.detected,
      detectionId: detection.id,
      rule: detection.rule,
      severity: detection.severity,
      actor: detection.actor,
      subject: detection.subject,
      counts: detection.counts,
      firstAt: new Date(detection.firstAt).toISOString(),
      detectedAt: new Date(detection.detectedAt).toISOString(),
      seq: detection.seq,
    });
    try {
      this.events?.emit(THREAT_DETECTED_EVENT, detection);
    } catch {
      // A listener's failure is the application's: the detection is recorded all the same.
    }
    if (this.shouldBlock(detection)) {
      const until = now + this.options.blockDurationMs;
      await this.blocks.block(detection.actor!, until, detection.rule, detection.id, now);
      this.logger.warn({
        event: THREAT_EVENTS.actorBlocked,
        actor: detection.actor,
        until: new Date(until).toISOString(),
        reason: detection.rule,
        detectionId: detection.id,
      });
    }
  }

  private shouldBlock(detection: ThreatDetection): boolean {
    const threshold = this.options.blockAtSeverity;
    return (
      threshold !== null &&
      detection.actor !== null &&
      !this.options.neverBlock.has(detection.actor) &&
      THREAT_SEVERITIES.indexOf(detection.severity) >= THREAT_SEVERITIES.indexOf(threshold)
    );
  }
}
