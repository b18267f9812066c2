import type { MigrationInterface } from 'typeorm';
import { ThreatBlockEntity } from './entities/threat-block.entity.js';
import { ThreatDetectionEntity } from './entities/threat-detection.entity.js';
import { ThreatDetectorStateEntity } from './entities/threat-detector-state.entity.js';
import { CreateThreatDetection1768262400000 } from './migrations/1768262400000-create-threat-detection.js';

/** Entities to add to an application DataSource that KmsModule uses (`dataSource` option). */
export const THREAT_DETECTION_ENTITIES: [
  typeof ThreatDetectionEntity,
  typeof ThreatDetectorStateEntity,
  typeof ThreatBlockEntity,
] = [ThreatDetectionEntity, ThreatDetectorStateEntity, ThreatBlockEntity];

/** Migrations of the threat-detection tables; run them after SECRETS_MIGRATIONS. */
export const THREAT_DETECTION_MIGRATIONS: (new () => MigrationInterface)[] = [
  CreateThreatDetection1768262400000,
];

/** Name of the detector's job in the SchedulerRegistry. */
export const THREAT_DETECTION_JOB = 'nest-kms.threat-detection';

/** Injection token of the resolved options. */
export const THREAT_DETECTION_RESOLVED_OPTIONS = Symbol('nest-kms:threat-detection-options');
