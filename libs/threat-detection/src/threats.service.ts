import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnModuleInit,
} from '@nestjs/common';
import { KMS_SCHEDULER_REGISTRY, KmsStorage, LifecycleInterval } from '@nest-kms/kms/extension';
import { InvalidInputError } from '@nest-kms/kms';
import { SecretsService } from '@nest-kms/secrets';
import type { SchedulerRegistry } from '@nestjs/schedule';
import type { DetectionStore } from './detector/detection-store.js';
import type { DetectorPass, ThreatDetector } from './detector/threat-detector.js';
import type {
  ActorBlock,
  ListDetectionsOptions,
  ThreatDetection,
} from './interfaces/threat-detection.interface.js';
import type { ActorBlocks } from './response/actor-blocks.js';
import {
  THREAT_DETECTION_ENTITIES,
  THREAT_DETECTION_JOB,
  THREAT_DETECTION_MIGRATIONS,
  THREAT_DETECTION_RESOLVED_OPTIONS,
} from './threat-detection.constants.js';
import { THREAT_EVENTS } from './threat-detection.messages.js';
import type { ResolvedThreatDetectionOptions } from './threat-detection.options.js';

/** Most characters of an actor name (as the audit trail keeps them). */
const MAX_ACTOR_LENGTH = 128;

/** Internal collaborators, one token each (threat-detection.providers.ts builds them). */
export const THREAT_DETECTOR = Symbol('nest-kms:threat-detector');
export const THREAT_DETECTION_STORE = Symbol('nest-kms:threat-detection-store');
export const THREAT_ACTOR_BLOCKS = Symbol('nest-kms:threat-actor-blocks');

/**
 * Threat detection: recent detections, blocked actors, and a pass of the detector on demand.
 * The detector runs every `intervalMs` on every replica (one of them, the lease holder, reads
 * the trail). In a second region it reads that region's own trail: the audit trail and the
 * threat tables are per region, not replicated (docs/multi-region.md).
 */
@Injectable()
export class ThreatsService implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger('ThreatDetection');
  private readonly interval: LifecycleInterval;

  constructor(
    @Inject(THREAT_DETECTION_RESOLVED_OPTIONS)
    private readonly options: ResolvedThreatDetectionOptions,
    @Inject(THREAT_DETECTOR) private readonly detector: ThreatDetector,
    @Inject(THREAT_DETECTION_STORE) private readonly store: DetectionStore,
    @Inject(THREAT_ACTOR_BLOCKS) private readonly blocks: ActorBlocks,
    private readonly secrets: SecretsService,
    storage: KmsStorage,
    @Inject(KMS_SCHEDULER_REGISTRY) registry: SchedulerRegistry,
  ) {
    // Before any module initialises: the KMS DataSource opens with these tables in it.
    storage.register({
      name: '@nest-kms/threat-detection',
      entities: THREAT_DETECTION_ENTITIES,
      migrations: THREAT_DETECTION_MIGRATIONS,
    });
    this.interval = new LifecycleInterval(registry, THREAT_DETECTION_JOB, async () => {
      await this.detector.pass();
    });
  }

  async onModuleInit(): Promise<void> {
    await this.secrets.initialize();
    this.interval.start(this.options.intervalMs);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.interval.stop();
    await this.detector.stop().catch(() => undefined);
  }

  /** Runs a pass of the detector now (or joins the one under way) and returns what it did. */
  async runDetection(): Promise<DetectorPass> {
    return this.detector.pass();
  }

  /** Recorded detections, newest first (`limit`, default 50; `since`, epoch ms). */
  listDetections(options?: ListDetectionsOptions): Promise<ThreatDetection[]> {
    return this.store.list(options);
  }

  /** The actors blocked now. */
  listBlocks(): Promise<ActorBlock[]> {
    return this.blocks.list(this.options.clock());
  }

  /**
   * Blocks `actor` for `durationMs` (default: the response's blockDurationMs) on every replica
   * of this region: an operator's decision, recorded in the audit trail.
   */
  async blockActor(actor: string, durationMs = this.options.blockDurationMs): Promise<ActorBlock> {
    checkActor(actor);
    if (!Number.isSafeInteger(durationMs) || durationMs < 1) {
      throw new InvalidInputError('durationMs', 'must be a positive whole number of milliseconds');
    }
    const now = this.options.clock();
    await this.blocks.block(actor, now + durationMs, 'operator', null, now);
    this.logger.warn({
      event: THREAT_EVENTS.actorBlocked,
      actor,
      until: new Date(now + durationMs).toISOString(),
      reason: 'operator',
    });
    return (await this.listBlocks()).find((block) => block.actor === actor)!;
  }

  /** Lifts `actor`'s block on every replica (recorded in the trail); false when it had none. */
  async unblockActor(actor: string): Promise<boolean> {
    checkActor(actor);
    const lifted = await this.blocks.unblock(actor, this.options.clock());
    if (lifted) this.logger.warn({ event: THREAT_EVENTS.actorUnblocked, actor });
    return lifted;
  }
}

function checkActor(actor: unknown): asserts actor is string {
  if (typeof actor !== 'string' || actor.length === 0 || actor.length > MAX_ACTOR_LENGTH) {
    throw new InvalidInputError(
      'actor',
      `must be a non-empty string of at most ${MAX_ACTOR_LENGTH} characters`,
    );
  }
}
