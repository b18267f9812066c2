export { ThreatDetectionModule } from './threat-detection.module.js';
export type { ThreatDetectionModuleExtras } from './threat-detection.module-definition.js';
export { ThreatsService } from './threats.service.js';
export type { DetectorPass } from './detector/threat-detector.js';
export { THREAT_DETECTED_EVENT, THREAT_EVENTS } from './threat-detection.messages.js';
export {
  THREAT_DETECTION_ENTITIES,
  THREAT_DETECTION_JOB,
  THREAT_DETECTION_MIGRATIONS,
} from './threat-detection.constants.js';
export type {
  ThreatDetectionModuleOptions,
  ThreatResponseOptions,
} from './interfaces/threat-detection-options.interface.js';
export type {
  ActorBlock,
  ListDetectionsOptions,
  ThreatDetection,
  ThreatDetectionRule,
} from './interfaces/threat-detection.interface.js';
export {
  THREAT_RULE_IDS,
  THREAT_SEVERITIES,
  type RecordFacts,
  type ThreatFinding,
  type ThreatRuleId,
  type ThreatSeverity,
} from './rules/threat-finding.interface.js';
export type {
  ChangeThenReadRuleOptions,
  CountingRuleOptions,
  ReadVolumeRuleOptions,
  ThreatRuleOptions,
  ThreatRulesOptions,
} from './rules/threat-rules-options.interface.js';
export { ThreatRules } from './rules/threat-rules.js';
export { resolveThreatRules, type ResolvedThreatRules } from './rules/threat-rules.options.js';
export type { ThreatRulesSnapshot } from './rules/threat-rules-snapshot.interface.js';
export type { TrailAction, TrailRecord } from './trail-record.js';
export { ThreatDetectionError } from './errors/threat-detection.error.js';
export { ThreatDetectionConfigurationError } from './errors/threat-detection-configuration.error.js';
export { ThreatDetectionEntity } from './entities/threat-detection.entity.js';
export { ThreatDetectorStateEntity } from './entities/threat-detector-state.entity.js';
export { ThreatBlockEntity } from './entities/threat-block.entity.js';
