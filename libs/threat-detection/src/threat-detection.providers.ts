import type { Provider } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { KmsMetrics } from '@nest-kms/kms';
import { ActorBlocklist, KmsStorage } from '@nest-kms/kms/extension';
import { SecretsAuditTrail, SecretsService } from '@nest-kms/secrets';
import { DetectionStore } from './detector/detection-store.js';
import { ThreatDetector } from './detector/threat-detector.js';
import type { ThreatDetectionModuleOptions } from './interfaces/threat-detection-options.interface.js';
import { ActorBlocks } from './response/actor-blocks.js';
import { THREAT_DETECTION_RESOLVED_OPTIONS } from './threat-detection.constants.js';
import { MODULE_OPTIONS_TOKEN } from './threat-detection.module-definition.js';
import {
  resolveThreatDetectionOptions,
  type ResolvedThreatDetectionOptions,
} from './threat-detection.options.js';
import { ThreatMetrics } from './threat-metrics.js';
import {
  THREAT_ACTOR_BLOCKS,
  THREAT_DETECTION_STORE,
  THREAT_DETECTOR,
  ThreatsService,
} from './threats.service.js';

const OPTIONS = THREAT_DETECTION_RESOLVED_OPTIONS;

/** ThreatsService and its collaborators; the KMS's and the store's come from their modules. */
export const THREAT_DETECTION_PROVIDERS: Provider[] = [
  {
    provide: OPTIONS,
    useFactory: (options: ThreatDetectionModuleOptions) => resolveThreatDetectionOptions(options),
    inject: [MODULE_OPTIONS_TOKEN],
  },
  {
    provide: ThreatMetrics,
    useFactory: (kms: KmsMetrics) => new ThreatMetrics(kms),
    inject: [KmsMetrics],
  },
  {
    provide: THREAT_DETECTION_STORE,
    useFactory: (storage: KmsStorage) => new DetectionStore(storage),
    inject: [KmsStorage],
  },
  {
    provide: THREAT_ACTOR_BLOCKS,
    useFactory: (storage: KmsStorage, blocklist: ActorBlocklist, trail: SecretsAuditTrail) =>
      new ActorBlocks(storage, blocklist, trail),
    inject: [KmsStorage, ActorBlocklist, SecretsAuditTrail],
  },
  {
    provide: THREAT_DETECTOR,
    useFactory: (
      o: ResolvedThreatDetectionOptions,
      storage: KmsStorage,
      trail: SecretsAuditTrail,
      secrets: SecretsService,
      store: DetectionStore,
      blocks: ActorBlocks,
      metrics: ThreatMetrics,
      events: EventEmitter2 | undefined,
    ) => new ThreatDetector(o, storage, trail, secrets, store, blocks, metrics, events),
    inject: [
      OPTIONS,
      KmsStorage,
      SecretsAuditTrail,
      SecretsService,
      THREAT_DETECTION_STORE,
      THREAT_ACTOR_BLOCKS,
      ThreatMetrics,
      // Published to when the application imports EventEmitterModule.forRoot().
      { token: EventEmitter2, optional: true },
    ],
  },
  ThreatsService,
];
